"""Read a spec's training rows from the dbt mart `features.training_set` (quality-checked, point-in-time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from traider.errors import TraiderError

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Engine

    from traider.ml.spec import ModelSpec

TRAINING_SET = "features.training_set"


class TrainingDataMissing(TraiderError):
    """The feature mart holds no rows for a spec: features were not built, or the data spec is wrong."""


def load_training_frame(spec: ModelSpec, engine: Engine) -> pd.DataFrame:
    """Return the spec's rows of the training set, indexed by bar time (UTC), oldest first."""
    import pandas as pd
    from sqlalchemy import text

    clauses = ["venue = :venue", "symbol = :symbol", "timeframe = :timeframe"]
    values: dict[str, str] = {"venue": spec.data.venue, "symbol": spec.data.symbol,
                                 "timeframe": spec.data.timeframe}  # fmt: skip
    if spec.data.start:
        clauses.append("ts >= :start")
        values["start"] = spec.data.start
    if spec.data.end:
        clauses.append("ts < :end")
        values["end"] = spec.data.end
    query = text(f"SELECT * FROM {TRAINING_SET} WHERE {' AND '.join(clauses)} ORDER BY ts")
    with engine.connect() as connection:
        frame = pd.read_sql(query, connection, params=values)
    if frame.empty:
        raise TrainingDataMissing(
            f"{TRAINING_SET} has no rows for {spec.data.venue} {spec.data.symbol} {spec.data.timeframe} "
            f"(spec {spec.name}): ingest that market and run the build_features DAG first"
        )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    for column in frame.columns:
        if column.startswith("label_end_"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.set_index("ts")
