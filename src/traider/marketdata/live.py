"""`LiveStream`: trades and order books of one ccxt.pro venue, streamed to the worker until stopped.

    exchange = make_pro_exchange("binance")
    async with LiveStream(exchange, ["BTC/USDT"], on_alert=notify) as stream:
        while True:
            event = await stream.events.get()   # Trade, BookSnapshot, GapDetected, Resynced, Disconnected, ...

Each (symbol, stream) has its own watcher task:

- trades: `watch_trades` results normalised to `Trade`s, each trade id passed on once (ccxt hands the same trade
  again after a reconnect or when the venue repeats it).
- order book: `watch_order_book`, with `live_book`'s own gap check on every depth diff (Binance venues). On a gap
  the book is discarded, `GapDetected` is emitted, the watch re-subscribes so ccxt takes a fresh REST snapshot,
  and the first book after it comes with `Resynced`. A crossed book is treated the same way. Each update emits
  a `BookSnapshot` of the best `book_depth` levels; `book(symbol)` returns the whole book while it is in sync.
- every delivery ticks a `NoTickMonitor` (stream key "<venue>:<symbol>:<stream>"), checked every
  `check_interval_s`: a stream silent for longer than the threshold (5 s) raises one alert through `on_alert`.
- a failed watch (disconnect, refused connection, timeout, exchange error) emits `Disconnected` and is retried
  with exponential backoff; ccxt reconnects on the next watch; the first delivery after it emits `Reconnected`.

`stop()` cancels the watchers and closes the exchange's connections.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ccxt

from traider.alerts.model import Alert
from traider.alerts.no_tick import DEFAULT_THRESHOLD_S, NoTickMonitor
from traider.marketdata import ccxt_normalise as normalise
from traider.marketdata.live_book import GUARDED_EXCHANGES, LiveGapError, discard_book, install_gap_guard, to_order_book
from traider.marketdata.live_events import Disconnected, GapDetected, LiveEvent, Reconnected, Resynced, utc_now
from traider.marketdata.orderbook import OrderBook
from traider.marketdata.records import Stream

logger = logging.getLogger(__name__)

EventSink = Callable[[LiveEvent], object] | asyncio.Queue[LiveEvent]


@dataclass(frozen=True)
class Backoff:
    """The pause before retrying a failed watch: min(max_s, initial_s * multiplier**(failures-1))."""

    initial_s: float = 0.5
    multiplier: float = 2.0
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        """Return the pause after `failures` consecutive failures (1-based)."""
        return float(min(self.max_s, self.initial_s * self.multiplier ** max(0, failures - 1)))


@dataclass
class LiveStats:
    """Counters of what a live stream did, for the worker's heartbeat and the tests."""

    trades: int = 0
    duplicates: int = 0
    books: int = 0
    rejected: int = 0
    gaps: int = 0
    resyncs: int = 0
    failures: int = 0
    reconnects: int = 0
    gap_events: list[GapDetected] = field(default_factory=list)


class _RecentIds:
    """The last `size` trade ids of one symbol, to pass each trade on once."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, trade_id: str) -> bool:
        """Remember `trade_id`; return False when it was already seen."""
        if trade_id in self._ids:
            return False
        self._ids[trade_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class LiveStream:
    """Stream trades and order books of some symbols of one ccxt.pro exchange to a sink, until stopped."""

    def __init__(
        self,
        exchange: Any,
        symbols: Sequence[str],
        *,
        venue: str | None = None,
        streams: Sequence[Stream] = (Stream.TRADES, Stream.BOOK_SNAPSHOTS),
        sink: EventSink | None = None,
        monitor: NoTickMonitor | None = None,
        on_alert: Callable[[Alert], object] | None = None,
        no_tick_threshold_s: float = DEFAULT_THRESHOLD_S,
        check_interval_s: float = 1.0,
        book_depth: int = 50,
        backoff: Backoff | None = None,
        dedup_window: int = 10_000,
        close_exchange: bool = True,
    ) -> None:
        unsupported = set(streams) - {Stream.TRADES, Stream.BOOK_SNAPSHOTS}
        if unsupported:
            raise ValueError(f"live streams are trades and book_snapshots, not {sorted(unsupported)}")
        self.exchange = exchange
        self.venue = venue or str(exchange.id)
        self.symbols = tuple(symbols)
        self.streams = tuple(streams)
        self.events: asyncio.Queue[LiveEvent] = sink if isinstance(sink, asyncio.Queue) else asyncio.Queue()
        self._callback = None if sink is None or isinstance(sink, asyncio.Queue) else sink
        self.monitor = monitor or NoTickMonitor(no_tick_threshold_s, on_alert=on_alert)
        self.stats = LiveStats()
        self._check_interval_s = check_interval_s
        self._book_depth = book_depth
        self._backoff = backoff or Backoff()
        self._recent = {symbol: _RecentIds(dedup_window) for symbol in self.symbols}
        self._resync_reason: dict[str, str] = {}
        self._close_exchange = close_exchange
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()
        self._closed = False

    async def __aenter__(self) -> LiveStream:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def stream_key(self, symbol: str, stream: Stream) -> str:
        """Return the no-tick monitor's key of one stream."""
        return f"{self.venue}:{symbol}:{stream.value}"

    def start(self) -> None:
        """Start one watcher task per symbol and stream, and the silence checker."""
        if self._tasks:
            return
        if self.exchange.id in GUARDED_EXCHANGES:
            install_gap_guard(self.exchange, self.venue)
        for symbol in self.symbols:
            for stream in self.streams:
                key = self.stream_key(symbol, stream)
                self.monitor.expect(key)
                step = self._book_step if stream is Stream.BOOK_SNAPSHOTS else self._trades_step
                self._tasks.append(asyncio.create_task(self._supervise(key, symbol, step), name=key))
        self._tasks.append(asyncio.create_task(self._check_silence(), name=f"{self.venue}:no-tick"))
        for task in self._tasks:
            task.add_done_callback(_log_crash)

    async def run(self) -> None:
        """Stream until `stop()` is called (or the task running this is cancelled)."""
        self.start()
        try:
            await self._stopped.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Cancel the watchers, stop watching for silence and close the exchange's connections."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for symbol in self.symbols:
            for stream in self.streams:
                self.monitor.forget(self.stream_key(symbol, stream))
        if self._close_exchange and not self._closed:
            self._closed = True
            await self.exchange.close()
        self._stopped.set()

    def book(self, symbol: str) -> OrderBook | None:
        """Return a copy of the whole book of `symbol` while it is in sync, else None."""
        if symbol in self._resync_reason:
            return None
        book = (self.exchange.orderbooks or {}).get(symbol)
        if book is None or book.get("nonce") is None:
            return None
        return to_order_book(book)

    async def _supervise(self, key: str, symbol: str, step: Callable[[str, str], Awaitable[None]]) -> None:
        failures = 0
        while True:
            try:
                await step(key, symbol)
            except LiveGapError as error:
                self._on_gap(symbol, error.event)
            except ccxt.InvalidNonce as error:  # ccxt's own desync report (ChecksumError)
                detail = " ".join(str(error).split())
                self._on_gap(symbol, GapDetected(self.venue, symbol, utc_now(), detail, detected_by="ccxt"))
            except (ccxt.BaseError, OSError) as error:
                failures += 1
                await self._on_failure(key, symbol, error, failures)
            else:
                if failures:
                    self.stats.reconnects += 1
                    self._emit(Reconnected(self.venue, key, utc_now(), failures))
                    failures = 0

    async def _trades_step(self, key: str, symbol: str) -> None:
        rows = await self.exchange.watch_trades(symbol, None, None, {})
        self.monitor.tick(key)
        trades, rejections = normalise.trades(self.venue, self.venue, symbol, rows)
        self._reject(rejections)
        for trade in trades:
            if self._recent[symbol].add(trade.trade_id):
                self.stats.trades += 1
                self._emit(trade)
            else:
                self.stats.duplicates += 1

    async def _book_step(self, key: str, symbol: str) -> None:
        book = await self.exchange.watch_order_book(symbol)
        self.monitor.tick(key)
        depth = self._book_depth
        top = {**book, "bids": book["bids"][:depth], "asks": book["asks"][:depth]}
        snapshots, rejections = normalise.book_snapshot(self.venue, self.venue, symbol, top, int(time.time() * 1000))
        if rejections and rejections[0].reason.startswith("crossed"):
            event = GapDetected(self.venue, symbol, utc_now(), rejections[0].reason)
            discard_book(self.exchange, symbol, LiveGapError(event))
            raise LiveGapError(event)
        self._reject(rejections)
        reason = self._resync_reason.pop(symbol, None)
        for snapshot in snapshots:
            if reason is not None:
                self.stats.resyncs += 1
                self._emit(Resynced(self.venue, symbol, utc_now(), snapshot.sequence, reason))
            self.stats.books += 1
            self._emit(snapshot)

    def _on_gap(self, symbol: str, event: GapDetected) -> None:
        logger.warning("%s %s: %s; taking a fresh snapshot", event.venue, event.symbol, event.detail)
        self.stats.gaps += 1
        self.stats.gap_events.append(event)
        self._resync_reason[symbol] = "gap"
        self._emit(event)

    async def _on_failure(self, key: str, symbol: str, error: BaseException, failures: int) -> None:
        self.stats.failures += 1
        if key.endswith(Stream.BOOK_SNAPSHOTS.value):
            self._resync_reason.setdefault(symbol, "reconnect")
        delay = self._backoff.delay(failures)
        text = f"{type(error).__name__}: {' '.join(str(error).split())}"
        logger.warning("%s failed (%s); retrying in %.2f s", key, text, delay)
        self._emit(Disconnected(self.venue, key, utc_now(), text, failures, delay))
        await asyncio.sleep(delay)

    async def _check_silence(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval_s)
            self.monitor.check()

    def _reject(self, rejections: Sequence[Any]) -> None:
        for rejection in rejections:
            self.stats.rejected += 1
            logger.warning("%s %s rejected: %s", self.venue, rejection.stream.value, rejection.reason)

    def _emit(self, event: LiveEvent) -> None:
        if self._callback is not None:
            self._callback(event)
        else:
            self.events.put_nowait(event)


def _log_crash(task: asyncio.Task[None]) -> None:
    """Log a watcher that died of an unexpected error (its silence also raises the no-tick alert)."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("live stream task %s crashed", task.get_name(), exc_info=task.exception())
