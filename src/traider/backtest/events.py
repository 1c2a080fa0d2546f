"""The event-driven engine: market events replayed on a simulated clock through the strategy, the risk
engine and the paper broker — the same objects the live worker runs, with a different clock and broker.

Events are tuples `(time_ns, kind, sequence, payload)`, merged in that order, so at one instant a bar
closes first, then funding is settled, then the book moves, then the next bar opens:

- `BAR_CLOSE` (at open time + bar length, payload a `Bar`): the strategy's `SignalStream` gives a
  target, the risk engine vets it, the equity is marked at the close;
- `FUNDING` (payload `(rate, mark_price)`): the position held now pays or receives funding;
- `BOOK` (payload a `BookUpdate`): the L2 book moves; in book mode, orders due by now fill against it;
- `BAR_OPEN` (payload the open price): in bar mode with `execution="next_open"`, orders fill at it.

A target that differs from the last one traded becomes an order sized by `traider.execution.sizing`
when it executes, as in the vectorised engine, which this engine reproduces to 1e-9 on bar data
(tested). With a book, the order is sized at the mid and walks the book after the latency; what the
book cannot absorb is cancelled and the next decision sizes again.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from traider.backtest.costs.fills import Side, mid_price
from traider.backtest.vectorised import (
    BarCosts,
    Execution,
    VectorisedResult,
    funding_within,
    infer_bar_length,
    nanoseconds,
)
from traider.execution.broker import Broker, PaperBroker
from traider.execution.clock import SimulatedClock
from traider.execution.orders import Fill, Order
from traider.execution.portfolio import Portfolio
from traider.execution.sizing import rebalance_quantity
from traider.marketdata.orderbook import OrderBook
from traider.risk.limits import RiskEngine
from traider.risk.pretrade import PortfolioState, PreTradeRisk
from traider.strategies.base import BAR_COLUMNS, Bar, Strategy

if TYPE_CHECKING:
    import pandas as pd

    from traider.backtest.costs.model import CostModel

Event = tuple[int, int, int, Any]
Level = tuple[float, float]


class EventKind(IntEnum):
    """Kinds of market event, in the order they are processed at one instant."""

    BAR_CLOSE = 0
    FUNDING = 1
    BOOK = 2
    BAR_OPEN = 3


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """A full L2 snapshot (`snapshot=True`: the levels replace the book) or deltas (amount 0 removes a level)."""

    bids: Sequence[Level]
    asks: Sequence[Level]
    snapshot: bool = False


def bar_events(bars: pd.DataFrame, bar_length_ns: int | None = None) -> Iterator[Event]:
    """Yield a `BAR_OPEN` and a `BAR_CLOSE` event per bar of an OHLCV frame indexed by open time (UTC)."""
    stamps = nanoseconds(bars.index)
    length = bar_length_ns if bar_length_ns is not None else infer_bar_length(stamps)
    columns = [bars[name].to_numpy(dtype=np.float64).tolist() for name in BAR_COLUMNS]
    extra_names = [name for name in bars.columns if name not in BAR_COLUMNS]
    extras: list[dict[str, float]] | None = None
    if extra_names:
        extras = [
            {str(key): float(value) for key, value in row.items()} for row in bars[extra_names].to_dict("records")
        ]
    open_kind, close_kind = int(EventKind.BAR_OPEN), int(EventKind.BAR_CLOSE)
    for number, (ts, op, hi, lo, cl, vol) in enumerate(zip(stamps.tolist(), *columns, strict=True)):
        yield (ts, open_kind, number, op)
        extra = None if extras is None else extras[number]
        yield (ts + length, close_kind, number, Bar(ts, op, hi, lo, cl, vol, extra))


def funding_events(funding: pd.DataFrame) -> Iterator[Event]:
    """Yield a `FUNDING` event per row of a frame with `ts`, `rate` and `mark_price`."""
    import pandas as pd

    frame = funding.sort_values("ts")
    if frame["mark_price"].isna().any() or frame["rate"].isna().any():
        raise ValueError("funding rows need a rate and a mark price: fill them before backtesting")
    stamps = nanoseconds(pd.DatetimeIndex(frame["ts"])).tolist()
    kind = int(EventKind.FUNDING)
    rows = zip(stamps, frame["rate"].astype(float).tolist(), frame["mark_price"].astype(float).tolist(), strict=True)
    for number, (ts, rate, mark) in enumerate(rows):
        yield (ts, kind, number, (rate, mark))


def book_events(updates: Iterable[tuple[int, BookUpdate]]) -> Iterator[Event]:
    """Yield a `BOOK` event per (time ns, update), in the order given (which must be by time)."""
    kind = int(EventKind.BOOK)
    for number, (ts, update) in enumerate(updates):
        yield (ts, kind, number, update)


def merge_events(*streams: Iterable[Event]) -> Iterator[Event]:
    """Merge time-ordered event streams into one, ordered by (time, kind, sequence)."""
    if len(streams) == 1:
        return iter(streams[0])
    return heapq.merge(*streams)


@dataclass
class EventEngine:
    """Replays events for one traded symbol; `run` returns the path in the vectorised engine's shape."""

    strategy: Strategy
    symbol: str
    costs: BarCosts
    initial_equity: float = 10_000.0
    execution: Execution = "next_open"
    cost_model: CostModel | None = None  # needed for book fills (book walk, impact, latency)
    risk: RiskEngine = field(default_factory=RiskEngine)
    pretrade: PreTradeRisk | None = None  # order-level limits (position caps, daily loss, VaR, order rate)
    broker: Broker | None = None
    run_id: str = "backtest"

    def run(self, events: Iterable[Event]) -> EngineResult:
        """Process every event in order and return the equity path, the fills and the costs."""
        session = _Session(self)
        clock = SimulatedClock()
        handlers: dict[int, Callable[[int, Any], None]] = {
            int(EventKind.BAR_OPEN): session.on_bar_open,
            int(EventKind.BAR_CLOSE): session.on_bar_close,
            int(EventKind.FUNDING): session.on_funding,
            int(EventKind.BOOK): session.on_book,
        }
        advance = clock.advance
        for now, kind, _, payload in events:
            advance(now)
            handlers[kind](now, payload)
        return session.result()


class _Session:
    """The state of one replay: ledger, book, pending target and the recorded path."""

    def __init__(self, engine: EventEngine) -> None:
        self.engine = engine
        self.symbol = engine.symbol
        self.portfolio = Portfolio(cash=float(engine.initial_equity))
        self.broker = engine.broker or PaperBroker(engine.costs, engine.cost_model)
        self.stream = engine.strategy.stream()
        self.risk = engine.risk
        self.book = OrderBook()
        self.have_book = False
        model = engine.cost_model
        self.latency_ns = 0 if model is None else int(model.latency.latency.total_seconds() * 1e9)
        self.at_close = engine.execution == "close"
        self.slip = engine.costs.slippage_bps / 10_000.0
        self.fee_rate = engine.costs.fee_rate if model is None else float(model.fee_rate("taker"))
        self.traded_target = 0.0
        self.pending: tuple[float, int] | None = None  # (target, due time)
        self.stamps: list[int] = []
        self.equity: list[float] = []
        self.units: list[float] = []
        self.marks: list[float] = []
        self.fills: list[Fill] = []
        self.pretrade = engine.pretrade
        self.day = -1
        self.day_start_equity = float(engine.initial_equity)
        self.refusals: list[str] = []

    def on_bar_open(self, now: int, price: float) -> None:
        if self.pending is not None and not self.have_book:
            self.execute(self.pending[0], price, now, with_book=False)
            self.pending = None

    def on_bar_close(self, now: int, bar: Bar) -> None:
        portfolio, symbol, mark = self.portfolio, self.symbol, bar.close
        wanted = self.stream.update(bar)
        decision = self.risk.vet(symbol, wanted, _exposure(portfolio, symbol, mark))
        target = min(1.0, max(-1.0, decision.approved))
        if target != self.traded_target:
            self.traded_target = target
            if self.at_close and not self.have_book:
                self.execute(target, mark, now, with_book=False)
            else:
                self.pending = (target, now + self.latency_ns)
        held = portfolio.positions.get(symbol, 0.0)
        self.stamps.append(bar.ts)
        self.units.append(held)
        self.marks.append(mark)
        self.equity.append(portfolio.cash + held * mark)

    def on_funding(self, now: int, payload: tuple[float, float]) -> None:
        rate, mark = payload
        self.portfolio.apply_funding(self.symbol, mark, rate)

    def on_book(self, now: int, update: BookUpdate) -> None:
        _apply_book(self.book, update)
        self.have_book = True
        if self.pending is not None and now >= self.pending[1]:
            mid = mid_price(self.book)
            if mid is not None:
                self.execute(self.pending[0], mid, now, with_book=True)
                self.pending = None

    def execute(self, target: float, reference: float, now: int, *, with_book: bool) -> None:
        """Size the move to `target` at `reference`, send it to the broker, and book the fill."""
        portfolio, symbol = self.portfolio, self.symbol
        held = portfolio.positions.get(symbol, 0.0)
        slip = 0.0 if with_book else self.slip
        delta, _ = rebalance_quantity(target, portfolio.cash, held, reference, slip, self.fee_rate)
        if delta != 0.0 and self.pretrade is not None:
            delta = self._vet_order(delta, held, reference, now)
        if delta == 0.0:
            return
        side = Side.BUY if delta > 0 else Side.SELL
        order = Order(f"{self.engine.run_id}-{symbol}-{now}", symbol, side, abs(delta), now, target)
        fill = self.broker.execute(order, reference, now, self.book if with_book else None)
        if fill is not None:
            portfolio.apply_fill(fill)
            self.fills.append(fill)

    def _vet_order(self, delta: float, held: float, reference: float, now: int) -> float:
        """Return the units the pre-trade check lets through (the events are the ticks: data is never stale)."""
        assert self.pretrade is not None
        equity = self.portfolio.cash + held * reference
        day = now // (86_400 * 10**9)
        if day != self.day:
            self.day, self.day_start_equity = day, equity
        state = PortfolioState(self.day_start_equity, equity - self.day_start_equity, {self.symbol: held * reference})
        check = self.pretrade.check(self.symbol, delta * reference, state, now=now, last_tick=now,
                                    halted=self.risk.halted)  # fmt: skip
        self.refusals.extend(check.reasons)
        return check.allowed / reference

    def result(self) -> EngineResult:
        return EngineResult(self.stamps, self.equity, self.units, self.marks, self.fills, self.portfolio, self.refusals)


@dataclass(frozen=True)
class EngineResult:
    """The raw record of an event run; `to_path()` gives the vectorised engine's result type."""

    bar_times: list[int]
    equity: list[float]
    units: list[float]
    marks: list[float]
    fills: list[Fill]
    portfolio: Portfolio
    refusals: list[str] = field(default_factory=list)  # why the pre-trade check cut or refused orders

    def to_path(self) -> VectorisedResult:
        """Return equity, units and exposure per bar and the fills as a `VectorisedResult`."""
        import pandas as pd

        index = pd.DatetimeIndex(pd.to_datetime(np.asarray(self.bar_times, dtype=np.int64), utc=True))
        equity = pd.Series(self.equity, index=index, name="equity", dtype=np.float64)
        units = pd.Series(self.units, index=index, name="units", dtype=np.float64)
        held_value: pd.Series = units * np.asarray(self.marks, dtype=np.float64)
        trades = pd.DataFrame(
            {
                "ts": pd.to_datetime([fill.ts for fill in self.fills], utc=True),
                "side": [fill.side.value for fill in self.fills],
                "units": [fill.quantity for fill in self.fills],
                "price": [fill.price for fill in self.fills],
                "fee": [fill.fee for fill in self.fills],
                "slippage": [fill.slippage for fill in self.fills],
            }
        )
        return VectorisedResult(
            equity=equity,
            units=units,
            exposure=(held_value / equity).rename("exposure"),
            trades=trades,
            fees_paid=self.portfolio.fees_paid,
            slippage_paid=self.portfolio.slippage_paid,
            funding_received=self.portfolio.funding_received,
        )


def run_events(
    strategy: Strategy,
    bars: pd.DataFrame,
    *,
    costs: BarCosts,
    symbol: str = "BTC/USD",
    initial_equity: float = 10_000.0,
    execution: Execution = "next_open",
    funding: pd.DataFrame | None = None,
    risk: RiskEngine | None = None,
) -> VectorisedResult:
    """Replay `bars` (and `funding`) event by event; the counterpart of `run_vectorised` on bar data."""
    streams: list[Iterable[Event]] = [bar_events(bars)]
    if funding is not None and not funding.empty:
        streams.append(funding_events(funding_within(bars.index, funding)))
    engine = EventEngine(strategy, symbol, costs, initial_equity, execution, risk=risk or RiskEngine())
    return engine.run(merge_events(*streams)).to_path()


def _exposure(portfolio: Portfolio, symbol: str, mark: float) -> float:
    held = portfolio.positions.get(symbol, 0.0)
    if held == 0.0:
        return 0.0
    equity = portfolio.cash + held * mark
    return held * mark / equity if equity > 0 else 0.0


def _apply_book(book: OrderBook, update: BookUpdate) -> None:
    if update.snapshot:
        book.apply_snapshot(update.bids, update.asks)
        return
    for price, amount in update.bids:
        book.apply_delta("bid", price, amount)
    for price, amount in update.asks:
        book.apply_delta("ask", price, amount)
