"""Train one spec from the feature mart and register it: what the `train` DAG's mapped task and
`traider train` call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from traider.ml.spec import SPEC_DIRECTORY, load_specs


def train_and_register(
    name: str,
    *,
    specs_directory: Path = SPEC_DIRECTORY,
    tracking_uri: str | None = None,
    dbt_invocation_id: str | None = None,
    step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train spec `name` on its rows of `features.training_set`, log it to MLflow and register a version."""
    from traider.config import get_settings
    from traider.db.engine import application_engine
    from traider.ml.data import load_training_frame
    from traider.ml.tracking import log_and_register
    from traider.ml.training import train_spec

    specs = load_specs(specs_directory)
    if name not in specs:
        from traider.errors import ConfigurationError

        raise ConfigurationError(f"no model spec {name!r} in {specs_directory}; known: {', '.join(specs)}")
    spec = specs[name]
    settings = get_settings()
    frame = load_training_frame(spec, application_engine(settings))
    outcome = train_spec(spec, frame, members=specs, step=step)
    outcome.metadata["members"] = specs
    registered = log_and_register(
        outcome, tracking_uri=tracking_uri or settings.mlflow_uri, dbt_invocation_id=dbt_invocation_id
    )
    performance = outcome.oos_performance
    return {
        "spec": name,
        "version": registered.version,
        "run_id": registered.run_id,
        "model_uri": registered.model_uri,
        "oos_sharpe": performance.sharpe_ratio,
        "oos_max_drawdown": performance.max_drawdown,
        "dsr_probability": outcome.dsr_probability,
        "lookahead_clean": outcome.lookahead_clean,
        "folds": len(outcome.folds),
    }
