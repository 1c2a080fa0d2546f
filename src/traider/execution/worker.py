"""The execution worker: bars in, the promoted strategy's orders and fills out, exactly once, restartable.

Each closed bar goes through one `TradingSession` (strategy → risk → sizing → pre-trade check → paper broker
→ ledger), the very code the event-driven backtest runs; a `Persistence` listener stores each order before it
is sent and each fill after (`TradingStore`: unique client order ids and fill ids, one transaction per fill).
The worker decides at a bar's close and trades at once (`execution="close"`).

Restart: the ledger is the store. On start the worker reads its cash, position and `trading.worker_state`
(the last bar finished and the target traded); bars up to that one only warm the strategy up, trading
resumes after it. A bar replayed after a crash yields the same client order id, so an order already stored
is not sent again (unless it was stored but never filled: then the paper broker fills it, with the same
deterministic fill id). Killing the worker at any moment therefore loses and doubles nothing.

Every bar it also applies the kill switch, re-read from the database once a second (engaged: exposure may
only shrink; with `flatten`, positions are closed), asks the strategy provider whether the model alias moved
(then swaps the strategy between bars, warming the new one on the bars kept so far), writes a P&L snapshot,
and beats its heart. `run_resilient` holds through database outages and resumes from the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from traider.errors import TraiderError
from traider.execution.broker import Broker
from traider.execution.clock import utc_datetime
from traider.execution.orders import Fill, Order
from traider.execution.portfolio import Portfolio
from traider.execution.session import DAY_NS, SessionConfig, TradingSession
from traider.execution.store import OrderContext, TradingStore, quote_currency
from traider.execution.telemetry import tracer
from traider.risk import kill_switch
from traider.risk.limits import RiskEngine
from traider.risk.pretrade import PreTradeLimits, PreTradeRisk
from traider.strategies.base import Bar, Strategy

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Engine

    from traider.alerts.model import Severity
    from traider.backtest.vectorised import BarCosts

log = logging.getLogger(__name__)
Mode = Literal["paper", "live"]
MAX_RETURN_DAYS = 500  # daily closes kept for VaR and correlation


class StrategyProvider(Protocol):
    """Where the worker's strategy comes from: a fixed rule strategy, or the model under an MLflow alias."""

    def current(self) -> tuple[Strategy, str | None]:
        """Return the strategy to trade and its model version (None for a rule strategy)."""
        ...

    def poll(self) -> bool:
        """Check for a new version; return True when `current()` changed."""
        ...


@dataclass
class FixedStrategy:
    """A strategy that never changes (rule strategies, tests)."""

    strategy: Strategy

    def current(self) -> tuple[Strategy, str | None]:
        """Return the strategy; it has no model version."""
        return self.strategy, None

    def poll(self) -> bool:
        """Return False: nothing ever changes."""
        return False


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker trades, how, and how often it reports."""

    venue: str
    symbol: str
    costs: BarCosts
    timeframe: str = "1h"
    mode: Mode = "paper"
    initial_cash: float = 10_000.0
    limits: PreTradeLimits = field(default_factory=lambda: PreTradeLimits.for_mode("paper"))
    heartbeat_interval_s: float = 1.0
    pace_s: float = 0.0  # wall seconds per replayed bar (0: as fast as possible)
    drawdown_alert: float = 0.05  # alert (critical) when equity falls this far below its peak
    kill_switch_poll_s: float = 1.0  # wall seconds between reads of the kill switch (0: every bar)

    @property
    def bar_length_ns(self) -> int:
        """Return the bar length in ns (a bar opening at t closes, and is traded, at t + length)."""
        from traider.marketdata.simulator.bars import parse_timeframe

        seconds = parse_timeframe(self.timeframe).seconds
        if seconds is None:
            raise ValueError(f"the worker needs a fixed-length timeframe, not {self.timeframe}")
        return seconds * 10**9

    @property
    def component(self) -> str:
        """Return the name the worker beats its heart under."""
        return f"worker:{self.mode}:{self.venue}:{self.symbol}"


@dataclass
class WorkerSummary:
    """What one run of the worker did."""

    bars: int = 0
    warmup_bars: int = 0
    orders: int = 0
    fills: int = 0
    skipped_orders: int = 0
    model_swaps: int = 0
    equity: float = 0.0
    refusals: list[str] = field(default_factory=list)
    alerts: int = 0
    database_outages: int = 0


class ReconciliationError(TraiderError):
    """The stored orders, fills and positions disagree: the worker refuses to trade."""


class Persistence:
    """The session listener that writes orders and fills through the store (exactly once)."""

    def __init__(self, store: TradingStore, summary: WorkerSummary, fee_currency: str = "USD") -> None:
        self.store, self.summary, self.fee_currency = store, summary, fee_currency
        self.context = OrderContext(strategy="unknown")

    def on_order(self, order: Order) -> bool:
        """Store the order; send it only if it is new, or stored but never filled (a crash in between)."""
        if self.store.record_order(order, self.context):
            self.summary.orders += 1
            return True
        state = self.store.order_state(order.client_order_id)
        if state is not None and state[0] == "new" and state[1] == 0.0:
            return True
        self.summary.skipped_orders += 1
        return False

    def on_fill(self, order: Order, fill: Fill | None) -> None:
        """Store the fill and close the rest of the order (paper orders are immediate-or-cancel)."""
        if fill is not None and self.store.record_fill(fill, fee_currency=self.fee_currency):
            self.summary.fills += 1
        if fill is None or fill.quantity < order.quantity:
            self.store.cancel_unfilled(order.client_order_id, "immediate-or-cancel remainder")


class Worker:
    """One symbol's always-on trading loop over a stream of closed bars."""

    def __init__(
        self,
        config: WorkerConfig,
        engine: Engine,
        provider: StrategyProvider,
        *,
        history: int = 2_000,
        broker: Broker | None = None,
    ) -> None:
        if config.mode == "live" and broker is None:
            raise ValueError("a live worker needs the live broker (make_live_broker)")
        self.config, self.engine, self.provider, self.broker = config, engine, provider, broker
        self.store = TradingStore(engine, mode=config.mode, venue=config.venue, actor=config.component)
        self.summary = WorkerSummary()
        self.last_heartbeat = time.monotonic()
        self._history: deque[Bar] = deque(maxlen=history)
        self._last_beat_wall = 0.0
        self._peak_equity = config.initial_cash
        self._in_drawdown = False
        self._refusals_seen = 0
        self._kill_switch: kill_switch.KillSwitchState | None = None
        self._kill_switch_read = 0.0

    def status(self) -> dict[str, Any]:
        """Return what the health endpoint reports."""
        return {
            "component": self.config.component,
            "bars": self.summary.bars,
            "orders": self.summary.orders,
            "fills": self.summary.fills,
            "last_heartbeat": self.last_heartbeat,
        }

    def run_resilient(
        self, source: Callable[[], Iterable[Bar]], stop: threading.Event | None = None, *, max_wait_s: float = 5.0
    ) -> WorkerSummary:
        """Trade `source()` like `run`, holding through database outages.

        When the database connection drops (a server restart, a network cut), nothing is sent: the worker waits
        for the server, retrying with a backoff of up to `max_wait_s`, then starts over from the store exactly as
        a restarted process would (the bars already finished only warm the strategy up; an order stored but
        never filled is sent again under its client order id), and raises an alert saying how long it held.
        """
        while True:
            try:
                return self.run(source(), stop)
            except DBAPIError as error:
                if not _is_connection_error(error):
                    raise
                lost = time.monotonic()
                self.summary.database_outages += 1
                log.warning("database connection lost (%s); holding until it is back", type(error.orig).__name__)
                if not self._wait_for_database(stop, max_wait_s):
                    return self.summary
                self._alert_database_back(time.monotonic() - lost)

    def _wait_for_database(self, stop: threading.Event | None, max_wait_s: float) -> bool:
        """Return True once the database answers again, False when `stop` is set first."""
        delay = 0.1
        while stop is None or not stop.is_set():
            try:
                with self.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                (stop.wait(delay) if stop is not None else time.sleep(delay))
                delay = min(max_wait_s, delay * 2)
        return False

    def _alert_database_back(self, held_s: float) -> None:
        self._alert(
            "warning",
            f"database connection was lost for {held_s:.1f} s; trading held, then resumed from the store",
            {"held_s": round(held_s, 3)},
            "database",
        )

    def run(self, bars: Iterable[Bar], stop: threading.Event | None = None) -> WorkerSummary:
        """Trade every bar of `bars` (closed bars, oldest first) until they end or `stop` is set."""
        self.open()
        for bar in bars:
            if stop is not None and stop.is_set():
                break
            self.step(bar)
            if self.config.pace_s:
                time.sleep(self.config.pace_s)
        return self.close()

    def open(self) -> TradingSession:
        """Load the account from the store, reconcile it, and build the trading session; return the session.

        Raises `ReconciliationError` (after an alert) when the stored ledger does not add up: the worker then
        refuses to trade rather than trade on a position it cannot trust.
        """
        config, store = self.config, self.store
        self._history.clear()
        self._day_closes: dict[int, float] = {}
        self._returns_days, self._returns = -1, np.empty((0, 1))
        self._kill_switch, self._refusals_seen = None, 0
        quote = quote_currency(config.symbol)
        if store.cash(quote) is None:
            store.deposit(quote, config.initial_cash)
        self._reconcile()
        positions = store.positions()
        held = positions[config.symbol].quantity if config.symbol in positions else 0.0
        portfolio = Portfolio(cash=max(store.cash(quote) or 0.0, 1e-9), positions={config.symbol: held})
        strategy, self._version = self.provider.current()
        self._persistence = Persistence(store, self.summary, fee_currency=quote)
        self._persistence.context = OrderContext(strategy=strategy.name, model_version=self._version)
        session = TradingSession(
            SessionConfig(
                config.symbol, config.costs, config.initial_cash, "close", None, f"{config.mode}-{config.venue}"
            ),
            strategy,
            risk=RiskEngine(),
            pretrade=PreTradeRisk(config.limits, returns=self.daily_returns),
            broker=self.broker,
            portfolio=portfolio,
            listener=self._persistence,
        )
        saved = store.load_state(config.symbol)
        if saved is not None:
            session.traded_target = saved[1]
        self._resume_after = saved[0] if saved is not None else None
        self._day_restored = self._resume_after is None  # a restarted worker judges its first day from snapshots
        self.session = session
        return session

    def warm(self, bars: Iterable[Bar]) -> None:
        """Bring the strategy up to date on `bars` (closed, oldest first) without trading on them."""
        session = self.session
        for bar in bars:
            self._history.append(bar)
            self._day_closes[bar.ts // DAY_NS] = bar.close
            session.trading = False
            session.on_bar_close(bar.ts + self.config.bar_length_ns, bar)
            self.summary.warmup_bars += 1
        session.trading = True

    def step(self, bar: Bar, *, tick_age_ns: int = 0) -> None:
        """Decide and trade at the close of `bar` (or only warm up on it, when a previous life finished it).

        `tick_age_ns` is how old the newest market data was when the bar closed (live feeds): past the stale
        limit the pre-trade check refuses new exposure.
        """
        session, config = self.session, self.config
        now = bar.ts + config.bar_length_ns
        self._history.append(bar)
        self._day_closes[bar.ts // DAY_NS] = bar.close
        if len(self._day_closes) > MAX_RETURN_DAYS:
            del self._day_closes[next(iter(self._day_closes))]
        if self._resume_after is not None and bar.ts <= self._resume_after:
            session.trading = False
            session.on_bar_close(now, bar)
            self.summary.warmup_bars += 1
            return
        if not self._day_restored:
            self._restore_day(session, now)
            self._day_restored = True
        session.trading = True
        session.tick_age_ns = tick_age_ns
        with tracer().start_as_current_span("bar") as span:
            span.set_attribute("traider.symbol", config.symbol)
            self._apply_kill_switch(session, bar, now)
            if self.provider.poll():
                strategy, self._version = self._swap(session)
                self._persistence.context = OrderContext(strategy=strategy.name, model_version=self._version)
            session.on_bar_close(now, bar)
            self._finish_bar(session, bar, self._version)

    def daily_returns(self, names: Sequence[str]) -> npt.NDArray[np.float64]:
        """Return days × assets of daily close-to-close returns from the bars seen so far (for VaR and correlation).

        Only bars the worker has already seen count (no look-ahead in a replay); a day's close is its last bar's
        close, and the current day (still open) is left out. The worker trades one symbol: any other name has no
        history here and yields no rows. The array is rebuilt only when a day has ended.
        """
        if list(names) != [self.config.symbol]:
            return np.empty((0, len(names)), dtype=np.float64)
        if self._returns_days != len(self._day_closes):
            closes = np.fromiter(self._day_closes.values(), dtype=np.float64)[:-1]  # full days only
            self._returns = (closes[1:] / closes[:-1] - 1.0).reshape(-1, 1) if len(closes) > 1 else np.empty((0, 1))
            self._returns_days = len(self._day_closes)
        return self._returns

    def close(self) -> WorkerSummary:
        """Report the run: equity at the last mark, refusals, and a final heartbeat."""
        session, config = self.session, self.config
        self.summary.refusals = list(session.refusals)
        mark = self._history[-1].close if self._history else 0.0
        portfolio = session.portfolio
        self.summary.equity = portfolio.cash + portfolio.positions.get(config.symbol, 0.0) * mark
        self._heartbeat({"state": "stopped"}, force=True)
        return self.summary

    def _reconcile(self) -> None:
        """Check the ledger before trading (paper: against itself; live: against the venue), or refuse and alert."""
        from traider.execution.reconcile import VenueBroker, reconcile_ledger, reconcile_with_venue

        config = self.config
        if self.broker is not None and config.mode == "live":
            venue = cast(VenueBroker, self.broker)  # a live broker also answers what the venue holds
            problems = reconcile_with_venue(self.store, venue, config.symbol, quote_currency(config.symbol))
        else:
            problems = reconcile_ledger(self.engine, config.mode, config.venue)
        if not problems:
            return
        component = self.config.component
        self._alert(
            "critical",
            f"reconciliation failed, not trading: {'; '.join(problems)}",
            {"problems": problems},
            "reconciliation",
        )
        raise ReconciliationError(f"{component}: reconciliation failed, not trading: {'; '.join(problems)}")

    def _restore_day(self, session: TradingSession, now: int) -> None:
        """Set the session's trading day and its start equity (the last stored bar-close equity before it)."""
        day = now // DAY_NS
        with self.engine.connect() as connection:
            equity = connection.execute(
                text(
                    "SELECT equity FROM trading.pnl_snapshots WHERE mode = :mode AND strategy = :component "
                    "AND ts < :first_open ORDER BY ts DESC LIMIT 1"
                ),
                {
                    "mode": self.config.mode,
                    "component": self.config.component,
                    "first_open": utc_datetime(day * DAY_NS - self.config.bar_length_ns),
                },
            ).scalar()
        session.day = day
        session.day_start_equity = self.config.initial_cash if equity is None else float(equity)

    def _apply_kill_switch(self, session: TradingSession, bar: Bar, now: int) -> None:
        """Re-read the switch once per `kill_switch_poll_s` of wall time; while engaged, hold (or flatten)."""
        wall = time.monotonic()
        if self._kill_switch is None or wall - self._kill_switch_read >= self.config.kill_switch_poll_s:
            self._kill_switch, self._kill_switch_read = kill_switch.current(self.engine), wall
        state = self._kill_switch
        session.risk.halted = state.engaged
        held = session.portfolio.positions.get(self.config.symbol, 0.0)
        if state.engaged and state.flatten and held != 0.0:
            session.execute(0.0, bar.close, now, with_book=False)
            session.traded_target = 0.0

    def _swap(self, session: TradingSession) -> tuple[Strategy, str | None]:
        strategy, version = self.provider.current()
        stream = strategy.stream()
        for old in list(self._history)[:-1]:  # warm the new model on what the worker has seen, bar by bar
            stream.update(old)
        session.stream = stream
        self.summary.model_swaps += 1
        log.info("switched to %s version %s", strategy.name, version)
        return strategy, version

    def _finish_bar(self, session: TradingSession, bar: Bar, version: str | None) -> None:
        self.summary.bars += 1
        portfolio = session.portfolio
        held = portfolio.positions.get(self.config.symbol, 0.0)
        equity = portfolio.cash + held * bar.close
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO trading.pnl_snapshots (mode, strategy, ts, equity, realised_pnl, unrealised_pnl, "
                    "fees_paid, funding_pnl) VALUES (:mode, :strategy, :ts, :equity, :realised, 0, :fees, :funding) "
                    "ON CONFLICT DO NOTHING"
                ),
                {
                    "mode": self.config.mode,
                    "strategy": self.config.component,
                    "ts": utc_datetime(bar.ts),
                    "equity": equity,
                    "realised": equity - self.config.initial_cash,
                    "fees": portfolio.fees_paid,
                    "funding": portfolio.funding_received,
                },
            )
        self._alert_on(session, bar, equity)
        self.store.save_state(self.config.symbol, bar.ts, session.traded_target, version)
        self._heartbeat(
            {"last_bar": utc_datetime(bar.ts).isoformat(), "equity": equity, "position": held, "model_version": version}
        )

    def _alert_on(self, session: TradingSession, bar: Bar, equity: float) -> None:
        """Raise an alert for orders the risk checks cut or refused on this bar, and for a drawdown breach."""
        when = utc_datetime(bar.ts).isoformat()
        new = session.refusals[self._refusals_seen :]
        self._refusals_seen = len(session.refusals)
        if new:
            self._alert(
                "warning",
                f"risk checks cut or refused an order at {when}: {'; '.join(new)}",
                {"bar": when, "reasons": new},
                "risk",
            )
        self._peak_equity = max(self._peak_equity, equity)
        drawdown = 1.0 - equity / self._peak_equity if self._peak_equity > 0 else 0.0
        if drawdown > self.config.drawdown_alert and not self._in_drawdown:
            self._alert(
                "critical",
                f"drawdown {drawdown:.2%} exceeds {self.config.drawdown_alert:.2%} at {when}",
                {"bar": when, "equity": equity, "peak": self._peak_equity},
                "drawdown",
            )
        self._in_drawdown = drawdown > self.config.drawdown_alert

    def alert_latency(self, elapsed_s: float, threshold_s: float) -> None:
        """Raise an alert: one bar's tick → order path took `elapsed_s`, over `threshold_s`."""
        self._alert(
            "warning",
            f"tick-to-order latency {elapsed_s * 1000:.0f} ms exceeds {threshold_s * 1000:.0f} ms",
            {"latency_ms": round(elapsed_s * 1000, 3), "threshold_ms": threshold_s * 1000},
            "latency",
        )

    def _alert(self, severity: Severity, message: str, context: dict[str, Any], kind: str) -> None:
        """Store and send one alert of this worker (deduplicated per worker and `kind`) and count it."""
        from traider.alerts.dispatch import raise_alert
        from traider.alerts.model import Alert

        component = self.config.component
        raise_alert(self.engine, Alert(severity, component, message, context, f"{component}:{kind}"))
        self.summary.alerts += 1

    def _heartbeat(self, details: dict[str, Any], *, force: bool = False) -> None:
        self.last_heartbeat = time.monotonic()
        if not force and self.last_heartbeat - self._last_beat_wall < self.config.heartbeat_interval_s:
            return
        self._last_beat_wall = self.last_heartbeat
        import json

        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO ops.heartbeats (component, ts, details) VALUES (:component, now(), "
                    "CAST(:details AS jsonb)) ON CONFLICT DO NOTHING"
                ),
                {"component": self.config.component, "details": json.dumps(details, default=str)},
            )


def _is_connection_error(error: DBAPIError) -> bool:
    """Return True when `error` means the connection or server went away (not a bad statement)."""
    import psycopg

    return bool(error.connection_invalidated) or isinstance(error.orig, psycopg.OperationalError)


def stored_bars(
    engine: Engine, venue: str, symbol: str, timeframe: str, start: datetime | None = None, end: datetime | None = None
) -> Iterator[Bar]:
    """Yield the stored OHLCV bars of one market in time order (the paper worker's replay source).

    When no bars of `timeframe` are stored but shorter ones are (5m bars, say, for a 1h strategy), the longest
    stored timeframe that divides it is resampled the way the feature build does (`features.online.
    resample_bars`: complete buckets only), so the worker trades exactly the bars the models were trained on.
    """
    frame = _ohlcv(engine, venue, symbol, timeframe, start, end)
    if frame.empty:
        source = _finer_timeframe(engine, venue, symbol, timeframe)
        if source is not None:
            from traider.features.online import resample_bars

            finer = _ohlcv(engine, venue, symbol, source, start, end)
            frame = resample_bars(finer, timeframe) if not finer.empty else finer
    stamps = frame["ts"].dt.as_unit("ns").astype("int64").tolist() if len(frame) else []
    values = (frame[name].astype("float64").tolist() for name in ("open", "high", "low", "close", "volume"))
    columns = zip(*values, strict=True)
    for stamp, (open_, high, low, close, volume) in zip(stamps, columns, strict=True):
        yield Bar(stamp, open_, high, low, close, volume)


def _ohlcv(
    engine: Engine, venue: str, symbol: str, timeframe: str, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    import pandas as pd

    clauses = ["venue = :venue", "symbol = :symbol", "timeframe = :timeframe"]
    values: dict[str, Any] = {"venue": venue, "symbol": symbol, "timeframe": timeframe}
    if start is not None:
        clauses.append("ts >= :start")
        values["start"] = start
    if end is not None:
        clauses.append("ts < :end")
        values["end"] = end
    query = f"SELECT ts, open, high, low, close, volume FROM market.ohlcv WHERE {' AND '.join(clauses)} ORDER BY ts"
    with engine.connect() as connection:
        rows = connection.execute(text(query), values).all()
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def _finer_timeframe(engine: Engine, venue: str, symbol: str, timeframe: str) -> str | None:
    """Return the longest stored timeframe of the market whose bars divide `timeframe` (None: none)."""
    from traider.features.online import timeframe_seconds

    with engine.connect() as connection:
        stored: Any = connection.execute(
            text("SELECT DISTINCT timeframe FROM market.ohlcv WHERE venue = :venue AND symbol = :symbol"),
            {"venue": venue, "symbol": symbol},
        ).scalars()
        candidates = []
        for name in stored:
            try:
                seconds = timeframe_seconds(str(name))
            except ValueError:
                continue
            if seconds < timeframe_seconds(timeframe) and timeframe_seconds(timeframe) % seconds == 0:
                candidates.append((seconds, str(name)))
    return max(candidates)[1] if candidates else None
