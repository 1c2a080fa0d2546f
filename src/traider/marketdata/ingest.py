"""Ingest one target (venue × symbol × stream × timeframe) for a time window: what the DAGs and CLI call.

`plan_targets` turns `config/marketdata.yaml` into the list of targets a DAG maps over;
`ingest_interval` fetches one target's window from its source (a ccxt venue, through the exchange
emulator when `TRAIDER_EXCHANGE_EMULATOR_URL` is set, or the simulator), loads it through the
validating loader and advances the target's watermark in the same transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from traider.config import Settings, get_settings
from traider.errors import ConfigurationError
from traider.marketdata.loader import LoadResult, load_batches
from traider.marketdata.records import Stream
from traider.marketdata.source import FetchRequest, Source
from traider.marketdata.venues import MarketDataConfig, load_venues
from traider.marketdata.watermarks import advance_watermark, resume_start

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Connection, Engine

SIMULATOR = "sim"
Target = Mapping[str, str]


def plan_targets(stream: Stream | str, config: MarketDataConfig | None = None) -> list[dict[str, str]]:
    """Return one target per enabled venue, symbol and (for OHLCV) timeframe that serves `stream`."""
    stream = Stream(stream)
    config = config or load_venues()
    targets: list[dict[str, str]] = []
    for venue in config.enabled():
        if stream not in venue.streams:
            continue
        for symbol in venue.symbols:
            timeframes = venue.timeframes if stream is Stream.OHLCV else ("",)
            targets.extend(
                {"venue": venue.name, "symbol": symbol, "stream": stream.value, "timeframe": timeframe}
                for timeframe in timeframes
            )
    return targets


def manual_window(params: Mapping[str, Any], start: datetime | None, end: datetime | None) -> tuple[Any, Any]:
    """Return the run's `start`/`end` params (ISO times) when given, else the data interval."""
    chosen = [params.get(name) for name in ("start", "end")]
    if not any(chosen):
        return start, end
    if not all(chosen):
        raise ConfigurationError("a manual ingestion window needs both start and end (ISO times)")
    try:
        first, last = (datetime.fromisoformat(str(value)) for value in chosen)
    except ValueError as error:
        raise ConfigurationError(f"manual ingestion window: {error}") from None
    first, last = (moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in (first, last))
    if first >= last:
        raise ConfigurationError(f"manual ingestion window: start {first} is not before end {last}")
    return first, last


def source_for(target: Target, settings: Settings, config: MarketDataConfig | None = None) -> Source:
    """Return the source serving a target's venue."""
    if target["venue"] == SIMULATOR:
        from traider.marketdata.simulator.source import SimulatorSource

        return SimulatorSource()
    from traider.marketdata.ccxt_source import CcxtSource

    venue = (config or load_venues()).venue(target["venue"])
    base = settings.exchange_emulator_url
    return CcxtSource(venue, api_base_url=f"{base.rstrip('/')}/{venue.ccxt_id}" if base else None)


def ingest_interval(
    target: Target,
    start: datetime | None,
    end: datetime | None,
    *,
    engine: Engine | None = None,
    source: Source | None = None,
    progress: Callable[[LoadResult], None] | None = None,
) -> dict[str, Any]:
    """Fetch and load one target over [start, end); with no start, resume from its watermark."""
    from traider.db.engine import application_engine

    settings = get_settings()
    stream = Stream(target["stream"])
    timeframe = target.get("timeframe") or None
    engine = engine or application_engine(settings)
    if start is None:
        with engine.connect() as connection:
            start = resume_start(connection, target["venue"], target["symbol"], stream, timeframe)
    request = FetchRequest(
        stream=stream,
        venue=target["venue"],
        symbol=target["symbol"],
        start=_utc(start),
        end=_utc(end),
        timeframe=timeframe,
    )
    source = source or source_for(target, settings)

    def advance(connection: Connection, rows: pd.DataFrame) -> None:
        if len(rows):
            newest = rows["ts"].max().to_pydatetime()
            advance_watermark(connection, request.venue, request.symbol, stream, timeframe, last_ts=newest)

    result = load_batches(engine, stream, source.fetch(request), progress=progress, on_stored=advance)
    return {
        **dict(target),
        "start": request.start.isoformat() if request.start else None,
        "end": request.end.isoformat() if request.end else None,
        "rows_in": result.rows_in,
        "inserted": result.inserted,
        "already_stored": result.already_stored,
        "quarantined": result.quarantined,
    }


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(moment.timestamp(), tz=UTC)
