from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from traider.backtest.report import write_report
from traider.backtest.run import round_trips, run_backtest
from traider.backtest.vectorised import BarCosts
from traider.strategies.technical import EmaCrossover


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather").set_index(
        "date"
    )


def test_run_backtest_round_trips_add_up_to_the_equity_change(bars: pd.DataFrame) -> None:
    run = run_backtest(EmaCrossover(10, 40), bars, costs=BarCosts(fee_rate=0.001, slippage_bps=2.0))
    equity = run.result.equity
    assert len(run.round_trips) > 10
    # between trips the position is flat, so the trips' P&L sums to the whole change of equity
    assert run.round_trips["pnl"].sum() == pytest.approx(equity.iloc[-1] - equity.iloc[0], rel=1e-9)
    assert run.performance.trade_count == len(run.round_trips)
    assert run.performance.fees_paid == pytest.approx(run.result.fees_paid)


def test_round_trips_of_a_flat_strategy_are_empty(bars: pd.DataFrame) -> None:
    run = run_backtest(EmaCrossover(10, 40), bars.iloc[:30], costs=BarCosts(fee_rate=0.0))
    assert round_trips(run.result).empty


def test_write_report_writes_self_contained_html_and_json(bars: pd.DataFrame, tmp_path: Path) -> None:
    run = run_backtest(EmaCrossover(10, 40), bars, costs=BarCosts(fee_rate=0.001), monte_carlo_paths=200, seed=3)
    html_path, json_path = write_report(run, "ema", tmp_path)
    data = json.loads(json_path.read_text())
    assert data["strategy"] == "ema_crossover"
    assert data["metrics"]["sharpe_ratio"] == pytest.approx(run.performance.sharpe_ratio)
    assert data["round_trips"] == len(run.round_trips)
    assert data["monte_carlo"]["paths"] == 200
    html = html_path.read_text()
    for section in ("Equity", "Drawdown", "Monthly returns", "Costs paid", "Monte Carlo", "Round trips"):
        assert section in html, section
    assert not re.search(r"<script[^>]+src=\"https?://", html), "the report must not load scripts from the network"
    assert "Plotly" in html
