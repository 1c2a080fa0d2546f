"""The event-driven engine: market events replayed on a simulated clock through a `TradingSession` —
the strategy, risk engine, sizing, pre-trade check, paper broker and ledger the live worker runs, with a
different clock and broker. Event order and semantics are described in `traider.execution.session`.

On bar data it reproduces the vectorised engine to 1e-9 (tested), funding included.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from traider.backtest.vectorised import (
    BarCosts,
    Execution,
    VectorisedResult,
    funding_within,
    infer_bar_length,
    nanoseconds,
)
from traider.execution.broker import Broker
from traider.execution.clock import SimulatedClock
from traider.execution.orders import Fill
from traider.execution.portfolio import Portfolio
from traider.execution.session import BookUpdate, Event, EventKind, SessionConfig, TradingSession
from traider.risk.limits import RiskEngine
from traider.risk.pretrade import PreTradeRisk
from traider.strategies.base import BAR_COLUMNS, Bar, Strategy

if TYPE_CHECKING:
    import pandas as pd

    from traider.backtest.costs.model import CostModel

__all__ = ["BookUpdate", "EngineResult", "Event", "EventEngine", "EventKind", "bar_events", "book_events",
           "funding_events", "merge_events", "run_events"]  # fmt: skip


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
        config = SessionConfig(self.symbol, self.costs, self.initial_equity, self.execution, self.cost_model,
                               self.run_id)  # fmt: skip
        session = TradingSession(config, self.strategy, risk=self.risk, pretrade=self.pretrade, broker=self.broker)
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
        return EngineResult(session.stamps, session.equity, session.units, session.marks, session.fills,
                            session.portfolio, session.refusals)  # fmt: skip


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
