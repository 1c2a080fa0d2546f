from __future__ import annotations

import dataclasses
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from traider.audit.chain import verify
from traider.backtest.events import EventEngine, bar_events
from traider.backtest.vectorised import BarCosts
from traider.execution.health import HealthServer
from traider.execution.worker import FixedStrategy, Persistence, Worker, WorkerConfig
from traider.risk import kill_switch
from traider.risk.pretrade import PreTradeLimits, PreTradeRisk
from traider.strategies.base import BAR_COLUMNS, Bar, Strategy
from traider.strategies.technical import EmaCrossover

COSTS = BarCosts(fee_rate=0.001, slippage_bps=2.0)
LIMITS = PreTradeLimits.for_mode("paper")


@pytest.fixture(scope="module")
def real_bars(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_feather(shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather")
    return frame.set_index("date").iloc[:1500]


def _bars(frame: pd.DataFrame) -> list[Bar]:
    stamps = frame.index.as_unit("ns").asi8.tolist()
    rows = frame[list(BAR_COLUMNS)].itertuples(index=False)
    return [Bar(ts, *map(float, row)) for ts, row in zip(stamps, rows, strict=True)]


def _config() -> WorkerConfig:
    return WorkerConfig(
        venue="binance", symbol="BTC/USDT", costs=COSTS, timeframe="5m", limits=LIMITS, initial_cash=10_000.0
    )


def _counts(engine: Engine) -> tuple[int, int, float]:
    with engine.connect() as connection:
        orders = connection.execute(text("SELECT count(*) FROM trading.orders")).scalar_one()
        fills = connection.execute(text("SELECT count(*) FROM trading.fills")).scalar_one()
        signed = connection.execute(
            text("SELECT coalesce(sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END), 0) FROM trading.fills")
        ).scalar_one()
    return orders, fills, float(signed)


def _position(engine: Engine) -> float:
    with engine.connect() as connection:
        value = connection.execute(text("SELECT quantity FROM trading.positions WHERE symbol = 'BTC/USDT'")).scalar()
    return 0.0 if value is None else float(value)


def test_the_worker_trades_like_the_event_backtest_and_stores_everything(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame
) -> None:
    strategy = EmaCrossover(10, 40, allow_short=True)
    summary = Worker(_config(), app_engine, FixedStrategy(strategy)).run(_bars(real_bars))
    backtest = EventEngine(strategy, "BTC/USDT", COSTS, 10_000.0, "close", pretrade=PreTradeRisk(LIMITS))
    expected = backtest.run(bar_events(real_bars))
    assert summary.fills == len(expected.fills) > 10
    assert summary.equity == pytest.approx(expected.equity[-1], rel=1e-9)
    orders, fills, signed = _counts(clean_tables)
    assert (orders, fills) == (summary.orders, summary.fills)
    assert _position(clean_tables) == pytest.approx(signed, rel=1e-12, abs=1e-12)
    assert signed == pytest.approx(expected.portfolio.position("BTC/USDT"), rel=1e-12, abs=1e-12)
    with clean_tables.connect() as connection:
        assert verify(connection).ok
        snapshots = connection.execute(text("SELECT count(*) FROM trading.pnl_snapshots")).scalar_one()
    assert snapshots == len(real_bars)


def test_a_restart_resumes_after_the_last_bar_and_changes_nothing_already_done(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame
) -> None:
    strategy = EmaCrossover(10, 40, allow_short=True)
    bars = _bars(real_bars)
    Worker(_config(), app_engine, FixedStrategy(strategy)).run(bars[:700])
    second = Worker(_config(), app_engine, FixedStrategy(strategy)).run(bars)
    assert second.warmup_bars == 700
    after_restart = _counts(clean_tables)
    again = Worker(_config(), app_engine, FixedStrategy(strategy)).run(bars)
    assert (again.orders, again.fills) == (0, 0)
    assert _counts(clean_tables) == after_restart
    expected = EventEngine(strategy, "BTC/USDT", COSTS, 10_000.0, "close", pretrade=PreTradeRisk(LIMITS)).run(
        bar_events(real_bars)
    )
    assert after_restart[1] == len(expected.fills)
    assert after_restart[2] == pytest.approx(expected.portfolio.position("BTC/USDT"), rel=1e-12, abs=1e-12)


def test_a_crash_between_storing_an_order_and_its_fill_loses_and_doubles_nothing(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    strategy = EmaCrossover(10, 40, allow_short=True)
    bars = _bars(real_bars)
    original = Persistence.on_fill
    calls = {"n": 0}

    def crash_on_fifth(self: Persistence, order: object, fill: object) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise SystemExit("killed")  # the order is stored, its fill is not
        original(self, order, fill)  # type: ignore[arg-type]

    monkeypatch.setattr(Persistence, "on_fill", crash_on_fifth)
    with pytest.raises(SystemExit):
        Worker(_config(), app_engine, FixedStrategy(strategy)).run(bars)
    monkeypatch.setattr(Persistence, "on_fill", original)
    orders, fills, _ = _counts(clean_tables)
    assert orders == fills + 1  # the crash left one order without its fill
    Worker(_config(), app_engine, FixedStrategy(strategy)).run(bars)
    orders, fills, signed = _counts(clean_tables)
    expected = EventEngine(strategy, "BTC/USDT", COSTS, 10_000.0, "close", pretrade=PreTradeRisk(LIMITS)).run(
        bar_events(real_bars)
    )
    assert fills == len(expected.fills) == orders
    assert signed == pytest.approx(expected.portfolio.position("BTC/USDT"), rel=1e-12, abs=1e-12)
    assert _position(clean_tables) == pytest.approx(signed, rel=1e-12, abs=1e-12)


def test_the_kill_switch_flattens_and_stops_new_exposure(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame
) -> None:
    strategy = EmaCrossover(10, 40, allow_short=True)
    bars = _bars(real_bars)
    worker = Worker(_config(), app_engine, FixedStrategy(strategy))
    worker.run(bars[:600])
    assert _position(clean_tables) != 0.0
    kill_switch.engage(app_engine, actor="operator", reason="drill", flatten=True)
    before = _counts(clean_tables)[1]
    Worker(_config(), app_engine, FixedStrategy(strategy)).run(bars)
    assert _position(clean_tables) == pytest.approx(0.0, rel=1e-12, abs=1e-12)
    assert _counts(clean_tables)[1] == before + 1  # the flattening fill, nothing after it


@dataclass
class _EngagingProvider:
    """A fixed strategy whose alias check engages the kill switch after `after` bars (an operator mid-run)."""

    strategy: Strategy
    engine: Engine
    after: int
    polls: int = 0

    def current(self) -> tuple[Strategy, str | None]:
        return self.strategy, None

    def poll(self) -> bool:
        self.polls += 1
        if self.polls == self.after:
            kill_switch.engage(self.engine, actor="operator", reason="mid-run drill", flatten=True)
        return False


@pytest.mark.parametrize(("poll_s", "stops"), [(0.0, True), (3_600.0, False)])
def test_the_kill_switch_is_re_read_by_wall_time_not_on_every_bar(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame, poll_s: float, stops: bool
) -> None:
    config = dataclasses.replace(_config(), kill_switch_poll_s=poll_s)
    provider = _EngagingProvider(EmaCrossover(10, 40, allow_short=True), app_engine, after=300)
    Worker(config, app_engine, provider).run(_bars(real_bars)[:900])
    with clean_tables.connect() as connection:
        later = connection.execute(
            text("SELECT count(*) FROM trading.fills WHERE filled_at > :at"),
            {"at": real_bars.index[300] + pd.Timedelta(minutes=10)},
        ).scalar_one()
    if stops:  # read on the next bar: one flattening fill at most, then nothing
        assert later == 0
        assert _position(clean_tables) == pytest.approx(0.0, abs=1e-9)
    else:  # a whole replay runs within one poll interval: the switch is not seen in this run
        assert later > 0


@dataclass
class _SwitchingProvider:
    """Switches from one strategy to another after `after` polls (a stand-in for an alias move in MLflow)."""

    first: Strategy
    second: Strategy
    after: int
    polls: int = 0

    def current(self) -> tuple[Strategy, str | None]:
        return (self.first, "1") if self.polls <= self.after else (self.second, "2")

    def poll(self) -> bool:
        self.polls += 1
        return self.polls == self.after + 1


def test_an_alias_move_swaps_the_strategy_between_bars_and_orders_carry_the_version(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame
) -> None:
    provider = _SwitchingProvider(EmaCrossover(10, 40), EmaCrossover(5, 20, allow_short=True), after=500)
    summary = Worker(_config(), app_engine, provider).run(_bars(real_bars))
    assert summary.model_swaps == 1
    with clean_tables.connect() as connection:
        versions = (
            connection.execute(text("SELECT DISTINCT model_version FROM trading.orders ORDER BY model_version"))
            .scalars()
            .all()
        )
        lowest = dict(
            connection.execute(
                text(
                    "SELECT version, min(held) FROM (SELECT o.model_version AS version, sum(CASE f.side WHEN 'buy' "
                    "THEN f.quantity ELSE -f.quantity END) OVER (ORDER BY f.filled_at, f.id) AS held "
                    "FROM trading.fills f JOIN trading.orders o ON o.id = f.order_id) AS path GROUP BY version"
                )
            ).all()
        )
    assert versions == ["1", "2"]
    assert summary.bars == len(real_bars)
    assert lowest["1"] >= -1e-12  # the first strategy is long-only
    assert lowest["2"] < 0.0  # the swapped-in one goes short


def test_health_endpoint_is_200_while_heartbeats_are_fresh_and_503_after() -> None:
    clock = {"beat": 0.0}
    server = HealthServer(lambda: {"last_heartbeat": clock["beat"], "bars": 3}, stale_after_s=5.0).start()
    try:
        import time

        clock["beat"] = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5) as response:
            assert response.status == 200
            assert b'"healthy": true' in response.read()
        clock["beat"] = time.monotonic() - 10.0
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5)
        assert error.value.code == 503
    finally:
        server.stop()


def test_stop_event_ends_the_loop(clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame) -> None:
    stop = threading.Event()
    stop.set()
    summary = Worker(_config(), app_engine, FixedStrategy(EmaCrossover(10, 40))).run(_bars(real_bars), stop)
    assert summary.bars == 0
    assert np.isfinite(summary.equity)


def test_capped_orders_and_a_drawdown_breach_raise_alerts(clean_tables: Engine, app_engine: Engine) -> None:
    class _AlwaysLong(Strategy):
        name = "always_long"

        def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
            return bars

        def target_position(self, frame: pd.DataFrame) -> pd.Series:
            return pd.Series(1.0, index=frame.index)

    index = pd.date_range("2024-01-01", periods=4, freq="5min", tz="UTC")
    crash = pd.DataFrame(
        {
            "open": [100.0, 100.0, 100.0, 10.0],
            "high": 100.0,
            "low": 10.0,
            "close": [100.0, 100.0, 10.0, 10.0],
            "volume": 1.0,
        },
        index=index,
    )
    config = WorkerConfig(
        venue="binance",
        symbol="BTC/USDT",
        costs=COSTS,
        timeframe="5m",
        limits=LIMITS,
        initial_cash=10_000.0,
        drawdown_alert=0.05,
    )
    summary = Worker(config, app_engine, FixedStrategy(_AlwaysLong())).run(_bars(crash))
    with clean_tables.connect() as connection:
        alerts = connection.execute(text("SELECT severity, message FROM ops.alerts ORDER BY id")).all()
    assert summary.alerts == len(alerts) == 2
    assert alerts[0].severity == "warning" and "capped at 2,000.00" in alerts[0].message
    assert alerts[1].severity == "critical" and "drawdown" in alerts[1].message


def test_a_restart_judges_the_day_like_an_uninterrupted_run_under_a_binding_daily_loss_limit(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame
) -> None:
    from tests.conftest import CLEANABLE_TABLES

    config = dataclasses.replace(_config(), limits=PreTradeLimits.for_mode("paper"))  # $400 daily loss limit
    bars = _bars(real_bars[:1200])

    def orders() -> list[tuple[str, str]]:
        with clean_tables.connect() as connection:
            rows = connection.execute(text("SELECT client_order_id, side FROM trading.orders ORDER BY 1")).all()
        return [(row[0], row[1]) for row in rows]

    uninterrupted = Worker(config, app_engine, FixedStrategy(EmaCrossover(3, 8, allow_short=True)))
    uninterrupted.run(bars)
    expected = orders()
    assert any("daily loss" in reason for reason in uninterrupted.summary.refusals)  # the limit does bind here
    for cut in (500, 700, 1_100):  # 700: the restart lands on a day the loss limit ends up binding
        with clean_tables.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(CLEANABLE_TABLES)} CASCADE"))
        Worker(config, app_engine, FixedStrategy(EmaCrossover(3, 8, allow_short=True))).run(bars[:cut])
        Worker(config, app_engine, FixedStrategy(EmaCrossover(3, 8, allow_short=True))).run(bars)
        assert orders() == expected, f"restart after bar {cut}"


def test_a_ledger_that_does_not_add_up_stops_the_worker_before_it_trades_and_raises_an_alert(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame
) -> None:
    from traider.execution.reconcile import reconcile_ledger
    from traider.execution.worker import ReconciliationError

    bars = _bars(real_bars)
    Worker(_config(), app_engine, FixedStrategy(EmaCrossover(10, 40, allow_short=True))).run(bars[:600])
    assert reconcile_ledger(app_engine, "paper", "binance") == []
    orders_before = _counts(clean_tables)[0]
    with clean_tables.begin() as connection:  # a position no fill explains (a lost fill, a manual edit)
        connection.execute(text("UPDATE trading.positions SET quantity = quantity + 0.5 WHERE symbol = 'BTC/USDT'"))
    with pytest.raises(ReconciliationError, match=r"BTC/USDT position .* but fills sum to"):
        Worker(_config(), app_engine, FixedStrategy(EmaCrossover(10, 40, allow_short=True))).run(bars)
    assert _counts(clean_tables)[0] == orders_before
    with clean_tables.connect() as connection:
        alert = connection.execute(
            text("SELECT severity, message FROM ops.alerts WHERE message LIKE 'reconciliation failed%'")
        ).one()
    assert alert.severity == "critical"


@pytest.mark.parametrize("var_limit", [1e-6, 0.5])
def test_the_worker_feeds_var_with_the_daily_returns_it_has_seen(
    clean_tables: Engine, app_engine: Engine, real_bars: pd.DataFrame, var_limit: float
) -> None:
    limits = dataclasses.replace(PreTradeLimits.for_mode("live_small"), var_limit_fraction=var_limit)
    worker = Worker(
        dataclasses.replace(_config(), limits=limits), app_engine, FixedStrategy(EmaCrossover(10, 40, allow_short=True))
    )
    summary = worker.run(_bars(real_bars))
    returns = worker.daily_returns(["BTC/USDT"])
    closes = real_bars["close"].groupby(real_bars.index.floor("D")).last().to_numpy()
    assert returns[:, 0] == pytest.approx(closes[1:-1] / closes[:-2] - 1.0, rel=1e-12)  # full days only
    with clean_tables.connect() as connection:
        first_order = connection.execute(text("SELECT min(created_at) FROM trading.orders")).scalar()
    unknown = [reason for reason in summary.refusals if "VaR unknown" in reason]
    assert unknown  # the first two days carry no full-day return yet: no exposure is opened
    if var_limit < 1e-3:
        assert first_order is None
        assert any(reason.startswith("one-day VaR") and "would exceed" in reason for reason in summary.refusals)
    else:
        assert first_order is not None
        assert first_order >= real_bars.index[0].floor("D") + pd.Timedelta(days=2)
        assert not any("would exceed" in reason for reason in summary.refusals)
