from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import traider


def test_backtest_command_writes_html_and_json_reports(shared_data: Path, tmp_path: Path) -> None:
    data = shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather"
    result = traider(
        "backtest", "--strategy", "ema_crossover", "--param", "fast=10", "--param", "slow=40", "--data", str(data),
        "--timeframe", "5m", "--monte-carlo", "100", "--reports", str(tmp_path), "--name", "run1",
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ema_crossover on 5,760 bars" in result.stdout
    metrics = json.loads((tmp_path / "run1.json").read_text())
    assert metrics["fees_paid"] > 0 and metrics["slippage_paid"] > 0
    assert (tmp_path / "run1.html").stat().st_size > 100_000


def test_backtest_unknown_strategy_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    result = traider("backtest", "--strategy", "moon", "--data", "sim:BTC/USD:2024-01-01:2024-01-02")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "traider: error: unknown strategy 'moon'; known: ema_crossover, funding_drift, rsi_mean_reversion"
    ]


def test_backtest_funding_drift_on_real_perp_data_with_walk_forward_on_the_event_engine(
    shared_data: Path, tmp_path: Path
) -> None:
    futures = shared_data / "freqtrade" / "tests" / "testdata" / "futures"
    result = traider(
        "backtest", "--strategy", "funding_drift", "--data", str(futures / "XRP_USDT_USDT-5m-futures.feather"),
        "--funding", str(futures / "XRP_USDT_USDT-8h-funding_rate.feather"), "--timeframe", "5m",
        "--market-type", "linear_perp", "--engine", "events", "--walk-forward", "600:300", "--grid", "span=12,48",
        "--monte-carlo", "0", "--reports", str(tmp_path), "--name", "perp", env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "walk-forward: 5 folds" in result.stdout
    metrics = json.loads((tmp_path / "perp.json").read_text())
    assert metrics["engine"] == "events"
    assert metrics["funding_received"] != 0.0
    assert metrics["metrics"]["funding_received"] == metrics["funding_received"]
    folds = metrics["walk_forward"]["folds"]
    assert [fold["parameters"]["span"] in (12, 48) for fold in folds] == [True] * 5
    assert all(fold["test_start"] > fold["train_end"] for fold in folds)
    assert "Walk-forward folds" in (tmp_path / "perp.html").read_text()


def test_backtest_grid_without_walk_forward_is_refused() -> None:
    result = traider("backtest", "--strategy", "ema_crossover", "--data", "sim:BTC/USD:2024-01-01:2024-01-02",
                     "--grid", "fast=5,10")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "traider: error: --grid needs --walk-forward TRAIN:TEST"
