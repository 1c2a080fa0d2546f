"""Nightly live replay: a worker's real day replayed and compared; a breach rolls the model back, once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.features.market import UNITTEST_5M, load_file, utc
from tests.registry.conftest import registry  # noqa: F401 (the fixture, found by name)
from tests.registry.support import Registry
from tests.registry.test_aliases import _gate
from traider.backtest.vectorised import BarCosts
from traider.execution.worker import FixedStrategy, Worker, WorkerConfig, stored_bars
from traider.livereplay.comparison import DayComparison, WorkerDay, compare_day
from traider.livereplay.judge import judge_and_record
from traider.livereplay.pipeline import day_to_replay
from traider.risk.pretrade import PreTradeLimits
from traider.strategies.technical import EmaCrossover

COSTS = BarCosts(fee_rate=0.001, slippage_bps=2.0)
LIMITS = PreTradeLimits.for_mode("paper")
COMPONENT = "worker:paper:binance:BTC/USDT"
DAY = date(2018, 1, 12)


@pytest.fixture
def traded(clean_tables: Engine, app_engine: Engine, shared_data: Path) -> Engine:
    """Five days of real 5m BTC bars stored, and a paper worker that traded them all."""
    load_file(app_engine, shared_data, UNITTEST_5M, until=utc(2018, 1, 15, 9, 55), symbol="BTC/USDT", timeframe="5m")
    config = WorkerConfig(venue="binance", symbol="BTC/USDT", costs=COSTS, timeframe="5m", limits=LIMITS)
    Worker(config, app_engine, FixedStrategy(EmaCrossover(10, 40, allow_short=True))).run(
        stored_bars(app_engine, "binance", "BTC/USDT", "5m")
    )
    return clean_tables


def _day(day: date = DAY) -> WorkerDay:
    return WorkerDay(component=COMPONENT, day=day, timeframe="5m", costs=COSTS, limits=LIMITS)


@pytest.mark.parametrize("day", [date(2018, 1, 11), DAY, date(2018, 1, 14)])
def test_replaying_a_day_with_the_strategy_that_traded_it_matches_every_decision_fill_and_the_pnl(
    traded: Engine, app_engine: Engine, day: date
) -> None:
    comparison = compare_day(app_engine, _day(day), EmaCrossover(10, 40, allow_short=True))
    assert comparison.bars == 288
    assert comparison.live_orders > 0
    assert comparison.matched_orders == comparison.live_orders == comparison.replay_orders, comparison.mismatches
    assert comparison.fill_price_deviation_bps == pytest.approx(0.0, abs=1e-6)
    assert comparison.replay_pnl == pytest.approx(comparison.live_pnl, rel=1e-9, abs=1e-6)
    assert comparison.pnl_deviation < 1e-6


def test_a_different_model_is_caught_by_the_comparison(traded: Engine, app_engine: Engine) -> None:
    comparison = compare_day(app_engine, _day(), EmaCrossover(5, 20, allow_short=True))
    assert comparison.matched_orders < comparison.live_orders
    assert comparison.mismatches


def _breach(start_equity: float = 10_000.0) -> DayComparison:
    return DayComparison(start_equity, live_pnl=-400.0, replay_pnl=120.0, live_drawdown=0.01, live_orders=10,
                         replay_orders=10, matched_orders=9, fill_price_deviation_bps=3.0, bars=24)  # fmt: skip


def test_a_breach_rolls_production_back_once_alerts_and_records_the_day(
    registry: Registry,  # noqa: F811
    clean_tables: Engine,
) -> None:
    name = registry.new_model("live_replay")
    first = registry.add_version(name, sharpe=1.7)
    second = registry.add_version(name, sharpe=2.2)
    _gate(registry, name, first)
    _gate(registry, name, second)
    assert registry.aliases(name) == {"production": second}

    verdict = judge_and_record(registry.engine, registry.client, _day(), (name, second), _breach(), max_drawdown=0.05)
    assert verdict.action == "rollback"
    assert verdict.rolled_back_to == first
    assert "P&L deviation" in verdict.reasons[0]
    assert registry.aliases(name) == {"production": first}
    decision = registry.decisions(name)[-1]
    assert (decision.action, decision.actor, decision.version) == ("rollback", "live_replay", int(first))

    again = judge_and_record(registry.engine, registry.client, _day(), (name, second), _breach(), max_drawdown=0.05)
    assert again.action == "rollback"
    assert "already rolled back" in again.reasons[-1]
    assert registry.aliases(name) == {"production": first}  # not moved twice
    with clean_tables.connect() as connection:
        rows = connection.execute(text("SELECT action, pnl_deviation FROM ops.live_replays")).all()
        alerts = connection.execute(text("SELECT count(*) FROM ops.alerts WHERE source = 'live_replay'")).scalar_one()
        audited = connection.execute(
            text("SELECT count(*) FROM audit.events WHERE action = 'model.rollback' AND actor = 'live_replay'")
        ).scalar_one()
    assert [(row.action, round(row.pnl_deviation, 6)) for row in rows] == [("rollback", round(520.0 / 120.0, 6))]
    assert alerts >= 1
    assert audited == 1


def test_a_drawdown_past_the_gate_breaches_and_a_quiet_day_does_nothing(
    registry: Registry,  # noqa: F811
    clean_tables: Engine,
) -> None:
    name = registry.new_model("live_replay_dd")
    only = registry.add_version(name, sharpe=1.7)
    _gate(registry, name, only)
    deep = dataclasses.replace(_breach(), live_pnl=118.0, live_drawdown=0.08)
    verdict = judge_and_record(registry.engine, registry.client, _day(), (name, only), deep, max_drawdown=0.05)
    assert verdict.action == "alert"  # the first champion has nothing to roll back to
    assert any("drawdown 8.00% exceeds" in reason for reason in verdict.reasons)
    assert registry.aliases(name) == {"production": only}
    quiet = dataclasses.replace(_breach(), live_pnl=119.0)
    other_day = _day(date(2018, 1, 13))
    assert (
        judge_and_record(registry.engine, registry.client, other_day, (name, only), quiet, max_drawdown=0.05).action
        == "none"
    )


def test_the_deviation_is_measured_against_a_floor_on_quiet_days() -> None:
    quiet = DayComparison(10_000.0, live_pnl=3.0, replay_pnl=0.5, live_drawdown=0.0, live_orders=1,
                          replay_orders=1, matched_orders=1, fill_price_deviation_bps=None, bars=24)  # fmt: skip
    assert quiet.pnl_deviation == pytest.approx(2.5 / 10.0)  # 0.1% of 10,000, not 0.5


def test_the_day_to_replay_is_the_chosen_one_else_the_interval_start_else_yesterday() -> None:
    assert day_to_replay("2024-03-05", None) == "2024-03-05"
    assert day_to_replay("", datetime(2024, 3, 6, 0, 30, tzinfo=UTC)) == "2024-03-06"
    assert day_to_replay("", None, now=datetime(2024, 3, 7, 0, 30, tzinfo=UTC)) == "2024-03-06"
    with pytest.raises(ValueError):
        day_to_replay("yesterday", None)


def test_the_replayed_equity_path_is_stored_as_backtest_snapshots_beside_the_workers_and_rerunning_changes_nothing(
    traded: Engine, app_engine: Engine
) -> None:
    comparison = compare_day(app_engine, _day(), EmaCrossover(10, 40, allow_short=True))
    for _ in range(2):
        verdict = judge_and_record(app_engine, None, _day(), None, comparison, max_drawdown=0.05)
        assert verdict.action == "none"
    with traded.connect() as connection:
        replayed = connection.execute(
            text("SELECT ts, equity FROM trading.pnl_snapshots WHERE mode = 'backtest' AND strategy = :c ORDER BY ts"),
            {"c": COMPONENT},
        ).all()
        live = connection.execute(
            text(
                "SELECT ts, equity FROM trading.pnl_snapshots WHERE mode = 'paper' AND strategy = :c AND ts = ANY(:ts)"
            ),
            {"c": COMPONENT, "ts": [row.ts for row in replayed]},
        ).all()
        rows = connection.execute(text("SELECT count(*) FROM ops.live_replays")).scalar_one()
    assert len(replayed) == comparison.bars == 288
    assert float(replayed[-1].equity) - comparison.start_equity == pytest.approx(comparison.replay_pnl, rel=1e-9)
    assert {row.ts: float(row.equity) for row in live} == pytest.approx({row.ts: float(row.equity) for row in replayed})
    assert rows == 1
