"""Live market data into the worker: ticks from a ccxt.pro stream become bars on the wall clock.

    worker = Worker(config, engine, provider)
    stream = LiveStream(make_pro_exchange("binance"), [config.symbol], on_alert=store_alert)
    summary = await run_live(worker, stream, stop)

- Every trade (price, amount) and every book update (its mid) is a tick. `TickBars` folds the ticks into bars of
  the worker's timeframe by the wall time they arrived and closes a bar when the clock passes its end; a bar
  without any tick repeats the last price with no volume (time still passes for the strategy).
- Book updates also go to the trading session, so paper orders fill against the live L2 book.
- At each close the worker decides with the age of the newest tick: past the stale limit (5 s in every mode) the
  pre-trade check sends nothing. The stream's no-tick monitor raises an alert after 5 s of silence, and a bar
  whose decision took longer than `latency_alert_s` (the tick → order path) raises one too. When the venue comes
  back, the next bar with fresh ticks trades again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from traider.errors import ConfigurationError
from traider.execution.session import BookUpdate
from traider.marketdata.records import BookSnapshot, Trade
from traider.strategies.base import Bar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from traider.alerts.model import Alert
    from traider.config.settings import Settings
    from traider.execution.worker import Worker, WorkerSummary
    from traider.marketdata.live import LiveStream

log = logging.getLogger(__name__)

DEFAULT_LATENCY_ALERT_S = 0.150  # the roadmap's tick-to-order budget
MAX_WAIT_S = 0.25  # how often the loop looks at the clock and the stop flag when no event arrives


@dataclass
class _Bucket:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class TickBars:
    """Bars of one length (ns) from ticks stamped with their arrival time, closed by the clock."""

    def __init__(self, length_ns: int) -> None:
        if length_ns <= 0:
            raise ValueError(f"bar length must be positive, not {length_ns} ns")
        self.length_ns = length_ns
        self._bucket: _Bucket | None = None
        self._start: int | None = None  # open time of the bar being built (None before the first tick)
        self._last_price: float | None = None

    def tick(self, price: float, amount: float, at_ns: int) -> list[Bar]:
        """Add a tick; return the bars that closed before it (when it falls after their end)."""
        closed = self.due(at_ns)
        if self._start is None:
            self._start = at_ns - at_ns % self.length_ns
        bucket = self._bucket
        if bucket is None:
            self._bucket = _Bucket(self._start, price, price, price, price, amount)
        else:
            bucket.high, bucket.low = max(bucket.high, price), min(bucket.low, price)
            bucket.close, bucket.volume = price, bucket.volume + amount
        self._last_price = price
        return closed

    def due(self, now_ns: int) -> list[Bar]:
        """Return every bar whose end is at or before `now_ns`, oldest first (flat bars for silent periods)."""
        closed: list[Bar] = []
        while self._start is not None and self._start + self.length_ns <= now_ns:
            bucket, price = self._bucket, self._last_price
            if bucket is not None:
                closed.append(Bar(bucket.start, bucket.open, bucket.high, bucket.low, bucket.close, bucket.volume))
            elif price is not None:
                closed.append(Bar(self._start, price, price, price, price, 0.0))
            self._bucket = None
            self._start += self.length_ns
        return closed

    def next_close(self, now_ns: int) -> int:
        """Return when the bar being built closes (now + one bar length before the first tick)."""
        return now_ns + self.length_ns if self._start is None else self._start + self.length_ns


def book_mid(snapshot: BookSnapshot) -> float | None:
    """Return the mid of a book snapshot's best levels (None when a side is empty)."""
    if not snapshot.bids or not snapshot.asks:
        return None
    return (snapshot.bids[0][0] + snapshot.asks[0][0]) / 2.0


async def run_live(
    worker: Worker,
    stream: LiveStream,
    stop: threading.Event,
    *,
    latency_alert_s: float = DEFAULT_LATENCY_ALERT_S,
    clock: Callable[[], int] = time.time_ns,
    warmup: Iterable[Bar] = (),
) -> WorkerSummary:
    """Trade the worker's symbol on `stream`'s ticks until `stop` is set; return the run's summary.

    `warmup` (closed bars, oldest first, e.g. the stored ones) only brings the strategy up to date first.
    """
    session = worker.open()
    worker.warm(warmup)
    symbol = worker.config.symbol
    bars = TickBars(worker.config.bar_length_ns)
    last_tick: int | None = None
    async with stream:
        while not stop.is_set():
            now = clock()
            wait_s = min(MAX_WAIT_S, max(0.0, (bars.next_close(now) - now) / 1e9))
            try:
                event = await asyncio.wait_for(stream.events.get(), wait_s)
            except TimeoutError:
                event = None
            arrived = clock()
            closed: list[Bar] = []
            if isinstance(event, Trade) and event.symbol == symbol:
                closed, last_tick = bars.tick(event.price, event.amount, arrived), arrived
            elif isinstance(event, BookSnapshot) and event.symbol == symbol:
                mid = book_mid(event)
                if mid is not None:
                    closed, last_tick = bars.tick(mid, 0.0, arrived), arrived
                    session.tick_age_ns = 0
                    session.on_book(arrived, BookUpdate(event.bids, event.asks, snapshot=True))
            for bar in [*closed, *bars.due(clock())]:
                started = time.perf_counter()
                age = clock() - last_tick if last_tick is not None else worker.config.bar_length_ns
                worker.step(bar, tick_age_ns=age)
                elapsed = time.perf_counter() - started
                if elapsed > latency_alert_s:
                    worker.alert_latency(elapsed, latency_alert_s)
    return worker.close()


def store_alerts(engine: Engine) -> Callable[[Alert], object]:
    """Return an `on_alert` callback for `LiveStream` that stores and dispatches each alert (`raise_alert`)."""
    from traider.alerts.dispatch import raise_alert

    def on_alert(alert: Alert) -> object:
        return raise_alert(engine, alert)

    return on_alert


def make_live_stream(settings: Settings, engine: Engine, venue: str, symbol: str) -> LiveStream:
    """Return the live stream of one symbol: trades and books from the venue's ccxt.pro websocket (or from the
    stream emulator when TRAIDER_EXCHANGE_STREAM_EMULATOR_URL is set), alerts stored and dispatched."""
    from traider.marketdata.live import LiveStream
    from traider.marketdata.live_exchange import make_pro_exchange

    emulator = settings.exchange_stream_emulator_url
    if emulator is not None:
        if venue != "binance":
            raise ConfigurationError(f"the stream emulator replays Binance only, not {venue!r}")
        base = emulator.rstrip("/")
        exchange = make_pro_exchange(
            venue, rest_base_url=f"{base}/binance", ws_base_url="ws" + base.removeprefix("http") + "/binance/stream"
        )
    else:
        exchange = make_pro_exchange(venue)
    return LiveStream(exchange, [symbol], venue=venue, on_alert=store_alerts(engine))
