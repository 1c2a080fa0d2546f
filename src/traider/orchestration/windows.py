"""Small helpers the DAG tasks call: which window a quality run checks, row counts for features."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_LOOKBACK = timedelta(days=1)


def quality_window(context: Mapping[str, Any]) -> dict[str, str]:
    """Return the [start, end) to check: from triggering ingestion events, else params, else the last day."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            if extra.get("start") and extra.get("end"):
                starts.append(_parse(extra["start"]))
                ends.append(_parse(extra["end"]))
    params = context.get("params") or {}
    if params.get("start") and params.get("end"):
        starts.append(_parse(params["start"]))
        ends.append(_parse(params["end"]))
    if not starts:
        end = _parse_any(context.get("logical_date")) or datetime.now(tz=UTC)
        starts, ends = [end - DEFAULT_LOOKBACK], [end]
    return {"start": min(starts).isoformat(), "end": max(ends).isoformat()}


def market_row_counts() -> dict[str, int]:
    """Return the row count of every market series table."""
    from sqlalchemy import text

    from traider.config import get_settings
    from traider.db.engine import application_engine
    from traider.marketdata.records import Stream

    engine = application_engine(get_settings())
    with engine.connect() as connection:
        return {
            stream.table: int(connection.execute(text(f"SELECT count(*) FROM {stream.table}")).scalar_one())
            for stream in Stream
        }


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_any(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _parse(str(value))
