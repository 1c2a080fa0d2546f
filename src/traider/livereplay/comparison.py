"""Replay one worker's trading day through the backtester and compare it with what the worker did.

The replay is the worker's own decision path (`TradingSession`: strategy, risk engine, sizing, pre-trade limits of
the mode, paper fills at the bar close with the same costs), started where the worker stood when the day began:
the strategy warmed on the stored bars before the day, cash and position from the worker's ledger at the day's
start, and the target it held. It then trades the day's stored bars. Compared:

- decisions: the worker's orders of the day against the replay's, matched by decision time and side;
- fill prices: for matched orders, |live − replay| / replay in basis points (mean over the matches);
- P&L: the day's change of equity, live (the worker's P&L snapshots) against replayed; the deviation is
  |live − replay| / max(|replay|, 0.1% of the day's starting equity), so a quiet day near zero P&L does not
  turn cents into a large ratio;
- the worker's drawdown over the day (from its snapshots, the starting equity as the first peak).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from traider.execution.clock import epoch_nanoseconds, utc_datetime
from traider.execution.portfolio import Portfolio
from traider.execution.session import DAY_NS, SessionConfig, TradingSession
from traider.execution.worker import stored_bars
from traider.risk.limits import RiskEngine
from traider.risk.pretrade import PreTradeLimits, PreTradeRisk

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from traider.backtest.vectorised import BarCosts
    from traider.execution.orders import Fill, Order
    from traider.strategies.base import Strategy

DEVIATION_FLOOR = 0.001  # of the starting equity: the smallest P&L the deviation is measured against
WARMUP_DAYS = 100


@dataclass(frozen=True)
class WorkerDay:
    """Which worker, which day, and how it trades (the same settings the worker ran with)."""

    component: str  # worker:<mode>:<venue>:<symbol>
    day: date
    timeframe: str
    costs: BarCosts
    limits: PreTradeLimits
    initial_cash: float = 10_000.0  # what the worker started with, for a day with no snapshot before it

    @property
    def mode(self) -> str:
        """Return the worker's mode."""
        return self.component.split(":")[1]

    @property
    def venue(self) -> str:
        """Return the worker's venue."""
        return self.component.split(":")[2]

    @property
    def symbol(self) -> str:
        """Return the worker's symbol."""
        return self.component.split(":", 3)[3]


@dataclass
class DayComparison:
    """What the worker did on the day against what the replay did."""

    start_equity: float
    live_pnl: float
    replay_pnl: float
    live_drawdown: float
    live_orders: int
    replay_orders: int
    matched_orders: int
    fill_price_deviation_bps: float | None
    bars: int
    mismatches: list[str] = field(default_factory=list)
    replay_curve: list[tuple[int, float]] = field(default_factory=list)  # (bar open ns, equity at its close)

    @property
    def pnl_deviation(self) -> float:
        """Return |live − replay| P&L over max(|replay|, 0.1% of the starting equity)."""
        scale = max(abs(self.replay_pnl), DEVIATION_FLOOR * abs(self.start_equity), 1e-12)
        return abs(self.live_pnl - self.replay_pnl) / scale

    def as_details(self) -> dict[str, Any]:
        """Return the comparison as JSON-safe data."""
        return {
            "start_equity": self.start_equity,
            "live_pnl": self.live_pnl,
            "replay_pnl": self.replay_pnl,
            "pnl_deviation": self.pnl_deviation,
            "live_drawdown": self.live_drawdown,
            "live_orders": self.live_orders,
            "replay_orders": self.replay_orders,
            "matched_orders": self.matched_orders,
            "fill_price_deviation_bps": self.fill_price_deviation_bps,
            "bars": self.bars,
            "mismatches": self.mismatches[:20],
        }


class _Recorder:
    """The replay session's listener: keeps its orders and fills in memory."""

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.fills: dict[str, Fill] = {}

    def on_order(self, order: Order) -> bool:
        self.orders.append(order)
        return True

    def on_fill(self, order: Order, fill: Fill | None) -> None:
        if fill is not None:
            self.fills[order.client_order_id] = fill


def compare_day(engine: Engine, worker: WorkerDay, strategy: Strategy) -> DayComparison:
    """Replay `worker`'s day with `strategy` and compare it with the stored orders, fills and snapshots."""
    start = datetime.combine(worker.day, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    bar_ns = _bar_length_ns(worker.timeframe)
    # A bar belongs to the day its close falls in (the worker decides at the close): the day's bars open from one
    # bar before midnight to one bar before the next midnight; the ones before only warm the strategy up.
    first_open, last_open = (
        start - timedelta(microseconds=bar_ns // 1_000),
        end - timedelta(microseconds=bar_ns // 1_000),
    )
    market = (engine, worker.venue, worker.symbol, worker.timeframe)
    warmup = list(stored_bars(*market, first_open - timedelta(days=WARMUP_DAYS), first_open))
    bars = list(stored_bars(*market, first_open, last_open))
    position = _position_at(engine, worker, start)
    mark = warmup[-1].close if warmup else (bars[0].open if bars else 0.0)
    start_equity = _equity_before(engine, worker, start, bar_ns)
    if start_equity is None:  # the worker's first day: it started flat with its initial cash
        start_equity, position = worker.initial_cash, 0.0
    recorder = _Recorder()
    session = TradingSession(
        SessionConfig(worker.symbol, worker.costs, start_equity, "close", None, f"replay-{worker.venue}"),
        strategy,
        risk=RiskEngine(),
        pretrade=PreTradeRisk(worker.limits),
        portfolio=Portfolio(cash=max(start_equity - position * mark, 1e-9), positions={worker.symbol: position}),
        listener=recorder,
    )
    wanted = 0.0
    for bar in warmup:  # the strategy catches up on the days before; nothing trades
        wanted = session.stream.update(bar)
    current = position * mark / start_equity if start_equity > 0 else 0.0
    session.traded_target = min(1.0, max(-1.0, session.risk.vet(worker.symbol, wanted, current).approved))
    session.day, session.day_start_equity = int(start.timestamp()) * 10**9 // DAY_NS, start_equity
    for bar in bars:
        session.on_bar_close(bar.ts + bar_ns, bar)
    last = bars[-1].close if bars else (warmup[-1].close if warmup else 0.0)
    portfolio = session.portfolio
    replay_pnl = portfolio.cash + portfolio.positions.get(worker.symbol, 0.0) * last - start_equity
    live = _live_orders(engine, worker, start, end)
    curve = _live_curve(engine, worker, first_open, last_open)
    comparison = _compare(live, recorder, start_equity, replay_pnl, curve, len(bars))
    comparison.replay_curve = list(zip(session.stamps, session.equity, strict=True))
    return comparison


def _compare(
    live: list[tuple[int, str, float | None]],
    recorder: _Recorder,
    start_equity: float,
    replay_pnl: float,
    curve: list[float],
    bars: int,
) -> DayComparison:
    replayed = {(order.decided_at, order.side.value): order for order in recorder.orders}
    matched, deviations, mismatches = 0, [], []
    for decided, side, price in live:
        order = replayed.pop((decided, side), None)
        if order is None:
            mismatches.append(f"the worker sent a {side} at {utc_datetime(decided).isoformat()} the replay did not")
            continue
        matched += 1
        fill = recorder.fills.get(order.client_order_id)
        if price is not None and fill is not None and fill.price > 0:
            deviations.append(abs(price - fill.price) / fill.price * 10_000)
    mismatches += [
        f"the replay sent a {side} at {utc_datetime(decided).isoformat()} the worker did not"
        for decided, side in sorted(replayed)
    ]
    live_pnl = (curve[-1] - start_equity) if curve else 0.0
    return DayComparison(
        start_equity=start_equity,
        live_pnl=live_pnl,
        replay_pnl=replay_pnl,
        live_drawdown=_drawdown([start_equity, *curve]),
        live_orders=len(live),
        replay_orders=len(recorder.orders),
        matched_orders=matched,
        fill_price_deviation_bps=sum(deviations) / len(deviations) if deviations else None,
        bars=bars,
        mismatches=mismatches,
    )


def _drawdown(curve: list[float]) -> float:
    peak, worst = -math.inf, 0.0
    for equity in curve:
        peak = max(peak, equity)
        if peak > 0:
            worst = max(worst, 1.0 - equity / peak)
    return worst


def _bar_length_ns(timeframe: str) -> int:
    from traider.marketdata.simulator.bars import parse_timeframe

    seconds = parse_timeframe(timeframe).seconds
    if seconds is None:
        raise ValueError(f"live replay needs a fixed-length timeframe, not {timeframe}")
    return seconds * 10**9


def _position_at(engine: Engine, worker: WorkerDay, start: datetime) -> float:
    """Return the worker's position just before `start`: the signed sum of its fills until then."""
    with engine.connect() as connection:
        value: Any = connection.execute(
            text(
                "SELECT coalesce(sum(CASE f.side WHEN 'buy' THEN f.quantity ELSE -f.quantity END), 0) "
                "FROM trading.fills f JOIN trading.orders o ON o.id = f.order_id WHERE o.mode = :mode "
                "AND o.venue = :venue AND o.symbol = :symbol AND f.filled_at < :start"
            ),
            {"mode": worker.mode, "venue": worker.venue, "symbol": worker.symbol, "start": start},
        ).scalar_one()
    return float(value)


def _equity_before(engine: Engine, worker: WorkerDay, start: datetime, bar_ns: int) -> float | None:
    with engine.connect() as connection:
        value = connection.execute(
            text(
                "SELECT equity FROM trading.pnl_snapshots WHERE mode = :mode AND strategy = :component "
                "AND ts < :first_open ORDER BY ts DESC LIMIT 1"
            ),
            {
                "mode": worker.mode,
                "component": worker.component,
                "first_open": utc_datetime(int(start.timestamp()) * 10**9 - bar_ns),
            },
        ).scalar()
    return None if value is None else float(value)


def _live_orders(
    engine: Engine, worker: WorkerDay, start: datetime, end: datetime
) -> list[tuple[int, str, float | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT o.created_at, o.side, sum(f.price * f.quantity) / nullif(sum(f.quantity), 0) AS price "
                "FROM trading.orders o LEFT JOIN trading.fills f ON f.order_id = o.id WHERE o.mode = :mode "
                "AND o.venue = :venue AND o.symbol = :symbol AND o.created_at >= :start AND o.created_at < :end "
                "GROUP BY o.id, o.created_at, o.side ORDER BY o.created_at"
            ),
            {"mode": worker.mode, "venue": worker.venue, "symbol": worker.symbol, "start": start, "end": end},
        ).all()
    return [
        (epoch_nanoseconds(row.created_at), row.side, None if row.price is None else float(row.price)) for row in rows
    ]


def _live_curve(engine: Engine, worker: WorkerDay, start: datetime, end: datetime) -> list[float]:
    with engine.connect() as connection:
        values: Any = connection.execute(
            text(
                "SELECT equity FROM trading.pnl_snapshots WHERE mode = :mode AND strategy = :component "
                "AND ts >= :start AND ts < :end ORDER BY ts"
            ),
            {"mode": worker.mode, "component": worker.component, "start": start, "end": end},
        ).scalars()
        return [float(value) for value in values]
