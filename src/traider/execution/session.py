"""A trading session: the strategy → risk → sizing → pre-trade check → broker → ledger path for one symbol,
shared by the event-driven backtest and the live worker (they differ only in the clock and the broker).

Events are tuples `(time_ns, kind, sequence, payload)`, merged in that order, so at one instant a bar
closes first, then funding is settled, then the book moves, then the next bar opens:

- `BAR_CLOSE` (at open time + bar length, payload a `Bar`): the strategy's `SignalStream` gives a
  target, the risk engine vets it, the equity is marked at the close;
- `FUNDING` (payload `(rate, mark_price)`): the position held now pays or receives funding;
- `BOOK` (payload a `BookUpdate`): the L2 book moves; in book mode, orders due by now fill against it;
- `BAR_OPEN` (payload the open price): in bar mode with `execution="next_open"`, orders fill at it.

A target that differs from the last one traded becomes an order sized by `traider.execution.sizing`
when it executes. With a book, the order is sized at the mid and walks the book after the latency; what
the book cannot absorb is cancelled and the next decision sizes again. Client order ids are
`<run id>-<symbol>-<time ns>`: deterministic, so a replayed decision is recognised as already made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from traider.backtest.costs.fills import Side, mid_price
from traider.execution.broker import Broker, PaperBroker
from traider.execution.orders import Fill, Order
from traider.execution.portfolio import Portfolio
from traider.execution.sizing import rebalance_quantity
from traider.marketdata.orderbook import OrderBook
from traider.risk.limits import RiskEngine
from traider.risk.pretrade import PortfolioState, PreTradeRisk

DAY_NS = 86_400 * 10**9

if TYPE_CHECKING:
    from traider.backtest.costs.model import CostModel
    from traider.backtest.vectorised import BarCosts
    from traider.strategies.base import Bar, Strategy

Event = tuple[int, int, int, Any]
Level = tuple[float, float]
Execution = Literal["next_open", "close"]


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


@dataclass(frozen=True)
class SessionConfig:
    """What a session trades and how: symbol, costs, execution timing, run id (the client order id prefix)."""

    symbol: str
    costs: BarCosts
    initial_equity: float = 10_000.0
    execution: Execution = "next_open"
    cost_model: CostModel | None = None  # needed for book fills (book walk, impact, latency)
    run_id: str = "backtest"


class SessionListener(Protocol):
    """Hooks the worker uses to persist what the session does."""

    def on_order(self, order: Order) -> bool:
        """Record `order` before it is sent; return False to not send it (already handled before a restart)."""
        ...

    def on_fill(self, order: Order, fill: Fill | None) -> None:
        """Record the fill (None: nothing filled) and close what is left of `order`."""
        ...


class TradingSession:
    """One symbol's trading state: strategy stream, ledger, book, pending target and the recorded path.

    The event engine drives it from replayed events; the worker drives it from live or replayed ticks and
    passes a `listener` that persists each order and fill. Everything else is the same code.
    """

    def __init__(
        self,
        config: SessionConfig,
        strategy: Strategy,
        *,
        risk: RiskEngine | None = None,
        pretrade: PreTradeRisk | None = None,
        broker: Broker | None = None,
        portfolio: Portfolio | None = None,
        listener: SessionListener | None = None,
    ) -> None:
        self.config = config
        self.symbol = config.symbol
        self.portfolio = portfolio or Portfolio(cash=float(config.initial_equity))
        self.broker = broker or PaperBroker(config.costs, config.cost_model)
        self.stream = strategy.stream()
        self.risk = risk or RiskEngine()
        self.listener = listener
        self.trading = True  # False while warming up the strategy on history before a restart point
        self.book = OrderBook()
        self.have_book = False
        model = config.cost_model
        self.latency_ns = 0 if model is None else int(model.latency.latency.total_seconds() * 1e9)
        self.at_close = config.execution == "close"
        self.slip = config.costs.slippage_bps / 10_000.0
        self.fee_rate = config.costs.fee_rate if model is None else float(model.fee_rate("taker"))
        held = self.portfolio.positions.get(self.symbol, 0.0)
        self.traded_target = 0.0 if held == 0.0 else float("nan")  # unknown after a restart: the next target trades
        self.pending: tuple[float, int] | None = None  # (target, due time)
        self.stamps: list[int] = []
        self.equity: list[float] = []
        self.units: list[float] = []
        self.marks: list[float] = []
        self.fills: list[Fill] = []
        self.pretrade = pretrade
        self.day = -1
        self.day_start_equity = float(config.initial_equity)
        self.refusals: list[str] = []
        self.tick_age_ns = 0  # age of the newest market data at the decision (live feeds; 0: the event is the tick)

    def on_bar_open(self, now: int, price: float) -> None:
        if self.pending is not None and not self.have_book:
            self.execute(self.pending[0], price, now, with_book=False)
            self.pending = None

    def on_bar_close(self, now: int, bar: Bar) -> None:
        portfolio, symbol, mark = self.portfolio, self.symbol, bar.close
        wanted = self.stream.update(bar)
        if not self.trading:
            return
        self.roll_day(now, portfolio.cash + portfolio.positions.get(symbol, 0.0) * mark)
        decision = self.risk.vet(symbol, wanted, exposure(portfolio, symbol, mark))
        target = min(1.0, max(-1.0, decision.approved))
        stale = None if self.pretrade is None else self.pretrade.stale(now, now - self.tick_age_ns)
        if target != self.traded_target and stale is not None:
            self.refusals.append(stale)  # decide again at the next close with fresh data
        elif target != self.traded_target:
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

    def roll_day(self, now: int, equity_now: float) -> None:
        """At the first event of a new UTC day, take the equity at the last bar close before it as the day's start.

        The daily loss limit measures P&L from there; a restarted worker sets `day` and `day_start_equity` from its
        stored P&L snapshots so it judges the day exactly as an uninterrupted run would.
        """
        day = now // DAY_NS
        if day != self.day:
            self.day = day
            self.day_start_equity = self.equity[-1] if self.equity else equity_now

    def on_funding(self, now: int, payload: tuple[float, float]) -> None:
        rate, mark = payload
        self.portfolio.apply_funding(self.symbol, mark, rate)

    def on_book(self, now: int, update: BookUpdate) -> None:
        apply_book(self.book, update)
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
        order = Order(f"{self.config.run_id}-{symbol}-{now}", symbol, side, abs(delta), now, target)
        listener = self.listener
        if listener is not None and not listener.on_order(order):
            return
        fill = self.broker.execute(order, reference, now, self.book if with_book else None)
        if fill is not None:
            portfolio.apply_fill(fill)
            self.fills.append(fill)
        if listener is not None:
            listener.on_fill(order, fill)

    def _vet_order(self, delta: float, held: float, reference: float, now: int) -> float:
        """Return the units the pre-trade check lets through (stale when the newest tick is `tick_age_ns` old)."""
        assert self.pretrade is not None
        equity = self.portfolio.cash + held * reference
        self.roll_day(now, equity)
        state = PortfolioState(self.day_start_equity, equity - self.day_start_equity, {self.symbol: held * reference})
        check = self.pretrade.check(self.symbol, delta * reference, state, now=now, last_tick=now - self.tick_age_ns,
                                    halted=self.risk.halted)  # fmt: skip
        self.refusals.extend(check.reasons)
        return check.allowed / reference


def exposure(portfolio: Portfolio, symbol: str, mark: float) -> float:
    held = portfolio.positions.get(symbol, 0.0)
    if held == 0.0:
        return 0.0
    equity = portfolio.cash + held * mark
    return held * mark / equity if equity > 0 else 0.0


def apply_book(book: OrderBook, update: BookUpdate) -> None:
    if update.snapshot:
        book.apply_snapshot(update.bids, update.asks)
        return
    for price, amount in update.bids:
        book.apply_delta("bid", price, amount)
    for price, amount in update.asks:
        book.apply_delta("ask", price, amount)
