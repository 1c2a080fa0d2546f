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
        "traider: error: unknown strategy 'moon'; known: ema_crossover, rsi_mean_reversion"
    ]
