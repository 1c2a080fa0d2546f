"""`SimulatorSource`: the simulated market behind the `Source` interface, every row on venue `sim`.

It serves OHLCV, trades, book snapshots, book deltas and funding rates for spot symbols like
`BTC/USD` and perpetuals like `BTC/USD:USD`, over [start, end) (both required, timezone-aware),
in time order and in batches of at most `batch_rows` rows. The same request always yields the
same frames and overlapping requests agree on their overlap. History starts at the config's epoch:
a bar that would open before it opens at the epoch, and the first funding settles one interval
after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from traider.marketdata.records import COLUMNS, Stream
from traider.marketdata.simulator import streams
from traider.marketdata.simulator.config import VENUE, SimulatorConfig, SimulatorRequestError
from traider.marketdata.simulator.market import SimulatedMarket
from traider.marketdata.simulator.streams import Columns
from traider.marketdata.source import Batch, FetchRequest

_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
_LIST_COLUMNS = ("bid_prices", "bid_amounts", "ask_prices", "ask_amounts")


class SimulatorSource:
    """A seeded, offline market-data source; its rows always carry venue `sim`."""

    name = VENUE

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.market = SimulatedMarket(self.config)

    def fetch(self, request: FetchRequest) -> Iterator[Batch]:
        """Yield batches answering `request`, oldest first (raises SimulatorRequestError if it cannot)."""
        start, end = self._window(request)
        self.market.instrument(request.symbol)
        columns = self._columns(request, start, end)
        for chunk in _rebatch(columns, self.config.batch_rows):
            yield Batch(stream=request.stream, frame=self._frame(request, chunk), source=self.name)

    def _window(self, request: FetchRequest) -> tuple[int, int]:
        """Return the request's [start, end) in Unix microseconds, checked against the simulator's history."""
        if request.venue != VENUE:
            raise SimulatorRequestError(f"the simulator only serves venue {VENUE!r}, not {request.venue!r}")
        if request.start is None or request.end is None:
            raise SimulatorRequestError("give the simulator both a start and an end")
        if request.start.tzinfo is None or request.end.tzinfo is None:
            raise SimulatorRequestError("give the start and end with a timezone, e.g. 2024-01-01T00:00:00Z")
        if request.start < self.config.epoch:
            raise SimulatorRequestError(
                f"simulated history starts at {self.config.epoch.isoformat()}; ask for later data"
            )
        micro = timedelta(microseconds=1)
        return (request.start - _UNIX) // micro, (request.end - _UNIX) // micro

    def _columns(self, request: FetchRequest, start: int, end: int) -> Iterator[Columns]:
        market, symbol = self.market, request.symbol
        first, last = -(-start // 1_000_000), -(-end // 1_000_000)
        makers: dict[Stream, Callable[[], Iterator[Columns]]] = {
            Stream.OHLCV: lambda: streams.ohlcv(market, symbol, request.timeframe or "", first, last),
            Stream.TRADES: lambda: streams.trades(market, symbol, -(-start // 1000), -(-end // 1000)),
            Stream.BOOK_SNAPSHOTS: lambda: streams.book_snapshots(market, symbol, first, last),
            Stream.BOOK_DELTAS: lambda: streams.book_deltas(market, symbol, first, last),
            Stream.FUNDING_RATES: lambda: streams.funding_rates(market, symbol, first, last),
        }
        return makers[request.stream]()

    def _frame(self, request: FetchRequest, columns: Columns) -> pd.DataFrame:
        """Return columns as a frame with exactly the stream's canonical columns."""
        data: dict[str, object] = {
            "venue": VENUE,
            "symbol": request.symbol,
            "timeframe": request.timeframe,
            "ts": pd.to_datetime(np.asarray(columns["ts"], dtype=np.int64), unit="ms", utc=True).as_unit("us"),
        }
        for name, values in columns.items():
            if name != "ts":
                data[name] = list(values.tolist()) if name in _LIST_COLUMNS else values
        wanted = COLUMNS[request.stream]
        return pd.DataFrame({name: data[name] for name in wanted}, columns=list(wanted))


def _rebatch(chunks: Iterator[Columns], limit: int) -> Iterator[Columns]:
    """Regroup column chunks into chunks of exactly `limit` rows, the last one possibly shorter."""
    pending: list[Columns] = []
    size = 0
    for chunk in chunks:
        rows = len(chunk["ts"])
        if rows == 0:
            continue
        pending.append(chunk)
        size += rows
        while size >= limit:
            joined = _join(pending)
            yield {name: values[:limit] for name, values in joined.items()}
            pending = [{name: values[limit:] for name, values in joined.items()}]
            size -= limit
    if size:
        yield _join(pending)


def _join(chunks: list[Columns]) -> Columns:
    if len(chunks) == 1:
        return chunks[0]
    return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}
