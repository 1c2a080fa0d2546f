"""CI's path to the nightly live replay: the real Airflow services, `traider airflow trigger live_replay --wait`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from tests.features.market import UNITTEST_5M, load_file, utc
from tests.orchestration.platform import airflow_platform
from traider.backtest.vectorised import BarCosts
from traider.execution.worker import FixedStrategy, Worker, WorkerConfig, stored_bars
from traider.risk.pretrade import PreTradeLimits
from traider.strategies.technical import EmaCrossover

pytestmark = pytest.mark.timeout(600)


def test_live_replay_is_triggered_over_rest_waited_for_and_succeeds(
    database_url: URL, clean_tables: Engine, app_engine: Engine, shared_data: Path, tmp_path: Path
) -> None:
    load_file(app_engine, shared_data, UNITTEST_5M, until=utc(2018, 1, 12, 6, 55), symbol="BTC/USDT", timeframe="5m")
    config = WorkerConfig(
        venue="binance",
        symbol="BTC/USDT",
        costs=BarCosts(fee_rate=0.001, slippage_bps=2.0),
        timeframe="5m",
        limits=PreTradeLimits.for_mode("paper"),
    )
    Worker(config, app_engine, FixedStrategy(EmaCrossover(10, 40))).run(
        stored_bars(app_engine, "binance", "BTC/USDT", "5m")
    )

    with airflow_platform(database_url, tmp_path / "home") as platform:
        done = platform.trigger("live_replay", {"day": "2018-01-11", "timeframe": "5m"}, timeout_s=300)
        missing = platform.trigger("live_replay_typo", {}, timeout_s=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "success" in done.stdout
    assert "replay" in done.stdout  # the mapped task that replayed the worker's day
    assert missing.returncode == 2
    with clean_tables.connect() as connection:
        traded = connection.execute(
            text("SELECT count(*) FROM trading.pnl_snapshots WHERE strategy = 'worker:paper:binance:BTC/USDT'")
        ).scalar_one()
    assert traded > 0
