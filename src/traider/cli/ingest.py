"""`traider ingest`: load market data from a venue, the simulator or a file, with a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from traider.cli.context import console, load_settings
from traider.errors import ConfigurationError
from traider.marketdata.records import Stream
from traider.marketdata.source import Batch, FetchRequest, Source

SOURCE_HELP = (
    "Where the data comes from: a venue of config/marketdata.yaml (coinbase, binance, kraken, bybit, binanceusdm), "
    "'sim' for the seeded simulator, or the path of a market-data file (freqtrade, CSV, tardis, cryptofeed)."
)


def ingest(
    source: Annotated[str, typer.Option("--source", help=SOURCE_HELP)],
    symbols: Annotated[
        str, typer.Option("--symbols", help="Comma-separated symbols, e.g. BTC/USD,ETH/USD (default: the venue's).")
    ] = "",
    stream: Annotated[Stream, typer.Option("--stream", help="Which market data to load.")] = Stream.OHLCV,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar size for --stream ohlcv, e.g. 1m, 1h, 1d.")] = "1m",
    since: Annotated[
        datetime | None, typer.Option("--since", help="Start (UTC). Default: resume from the stored watermark.")
    ] = None,
    until: Annotated[datetime | None, typer.Option("--until", help="End, exclusive (UTC). Default: now.")] = None,
    venue: Annotated[
        str, typer.Option("--venue", help="Venue to record for a file that does not say (files only).")
    ] = "",
    emulator: Annotated[
        bool,
        typer.Option("--emulator", help="Serve the ccxt venues from the local exchange emulator (recorded payloads)."),
    ] = False,
) -> None:
    """Fetch market data into the market tables: validated, bad rows quarantined, idempotent."""
    from traider.db.engine import application_engine

    settings = load_settings()
    path = Path(source)
    wanted = [] if path.exists() else _symbols(source, symbols)
    engine = application_engine(settings)
    start, end = _utc(since), _utc(until) or datetime.now(tz=UTC)
    results: list[dict[str, Any]] = []
    with ExitStack() as stack, _progress() as progress:
        if path.exists():
            results.append(
                _ingest_file(
                    engine, path, stream=stream, timeframe=timeframe, venue=venue, symbols=symbols, progress=progress
                )
            )
        else:
            base_url = _emulator_url(stack) if emulator else settings.exchange_emulator_url
            for symbol in wanted:
                target = {"venue": source, "symbol": symbol, "stream": stream.value,
                          "timeframe": timeframe if stream is Stream.OHLCV else ""}  # fmt: skip
                results.append(
                    _ingest_target(engine, target, start=start, end=end, base_url=base_url, progress=progress)
                )
    _summary(results)


def _ingest_target(
    engine: Any,
    target: dict[str, str],
    *,
    start: datetime | None,
    end: datetime,
    base_url: str | None,
    progress: Progress,
) -> dict[str, Any]:
    from traider.marketdata.ingest import ingest_interval, source_for

    settings = load_settings().model_copy(update={"exchange_emulator_url": base_url})
    source = source_for(target, settings)
    label = f"{target['venue']} {target['symbol']} {target['stream']} {target['timeframe']}".strip()
    task = progress.add_task(label, total=None)
    watched = _Watched(source, progress, task, start=start, end=end)
    return ingest_interval(target, start, end, engine=engine, source=watched)


def _ingest_file(
    engine: Any, path: Path, *, stream: Stream, timeframe: str, venue: str, symbols: str, progress: Progress
) -> dict[str, Any]:
    from traider.marketdata.files.dispatch import open_file_source
    from traider.marketdata.loader import load_batches

    hints: dict[str, Any] = {"timeframe": timeframe}
    if venue:
        hints["venue"] = venue
    if symbols:
        hints["symbol"] = symbols.split(",", maxsplit=1)[0].strip()
    file_source = open_file_source(path, **hints)
    chosen = stream if stream in file_source.streams else next(iter(sorted(file_source.streams)))
    task = progress.add_task(f"{path.name} {chosen.value}", total=None)

    def advance(result: Any) -> None:
        progress.update(
            task, completed=result.rows_in, description=f"{path.name} {chosen.value}: {result.rows_in:,} rows"
        )

    result = load_batches(engine, chosen, file_source.read(chosen), progress=advance)
    shown_timeframe = timeframe if chosen is Stream.OHLCV else ""
    return {"venue": venue or "(from file)", "symbol": path.name, "stream": chosen.value, "timeframe": shown_timeframe,
            "rows_in": result.rows_in, "inserted": result.inserted, "already_stored": result.already_stored,
            "quarantined": result.quarantined}  # fmt: skip


class _Watched:
    """A source whose batches move a progress bar by how far through [start, end) they reach."""

    def __init__(
        self, source: Source, progress: Progress, task: TaskID, *, start: datetime | None, end: datetime
    ) -> None:
        self.name = source.name
        self._source, self._progress, self._task, self._start, self._end = source, progress, task, start, end
        self._rows = 0

    def fetch(self, request: FetchRequest) -> Iterator[Batch]:
        start = request.start or self._start
        span = (self._end - start).total_seconds() if start else 0.0
        if span > 0:
            self._progress.update(self._task, total=span, completed=0)
        for batch in self._source.fetch(request):
            self._rows += batch.rows_in
            done = None
            if span > 0 and start is not None and len(batch.frame):
                newest = batch.frame["ts"].max().to_pydatetime()
                done = min(span, (newest - start).total_seconds())
            self._progress.update(self._task, completed=done, description=f"{request.symbol}: {self._rows:,} rows")
            yield batch
        if span > 0:
            self._progress.update(self._task, completed=span)


def _symbols(source: str, symbols: str) -> list[str]:
    from traider.marketdata.venues import load_venues

    if source != "sim" and source not in load_venues().venues:
        raise ConfigurationError(
            f"--source {source!r} is no file, no venue of config/marketdata.yaml and not 'sim'; "
            "see traider ingest --help"
        )
    if symbols:
        return [symbol.strip() for symbol in symbols.split(",") if symbol.strip()]
    if source == "sim":
        return ["BTC/USD"]
    return list(load_venues().venue(source).symbols)


def _emulator_url(stack: ExitStack) -> str:
    from traider.marketdata.emulator.server import ExchangeEmulator

    running = stack.enter_context(ExchangeEmulator())
    url = running.base_url("coinbase").rsplit("/", maxsplit=1)[0]
    console.print(f"Serving the venues from the local exchange emulator (recorded real payloads) at {url}.")
    return url


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    )


def _summary(results: list[dict[str, Any]]) -> None:
    table = Table(title="Ingested")
    for column in ("venue", "symbol", "stream", "rows in", "inserted", "already stored", "quarantined"):
        table.add_column(column, justify="right" if column[0] in "riaq" and column != "stream" else "left")
    for result in results:
        table.add_row(
            result["venue"], result["symbol"], f"{result['stream']} {result.get('timeframe') or ''}".strip(),
            f"{result['rows_in']:,}", f"{result['inserted']:,}", f"{result['already_stored']:,}",
            f"{result['quarantined']:,}",
        )  # fmt: skip
    console.print(table)
    lost = [r for r in results if r["rows_in"] != r["inserted"] + r["already_stored"] + r["quarantined"]]
    if lost:
        raise ConfigurationError(f"rows unaccounted for in {len(lost)} target(s); see the table above")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
