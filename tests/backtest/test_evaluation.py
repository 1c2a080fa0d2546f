from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from traider.backtest.evaluation import parameter_grid, walk_forward_backtest
from traider.backtest.vectorised import BarCosts, run_vectorised
from traider.backtest.walkforward import WalkForwardSpec
from traider.strategies.base import Strategy


class _Sign(Strategy):
    """Long (+1) or short (−1) throughout, per its parameter."""

    name = "sign"

    def __init__(self, side: float) -> None:
        self.side = side

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        return bars

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        return pd.Series(self.side, index=frame.index)


def _trend(regimes: list[float], per_regime: int = 100) -> pd.DataFrame:
    """Bars whose close drifts by each regime's rate per bar (rising, then falling, …), with a little noise."""
    rng = np.random.default_rng(3)
    drift = np.repeat(regimes, per_regime) + rng.normal(0.0, 0.0005, len(regimes) * per_regime)
    close = 100.0 * np.exp(np.cumsum(drift))
    index = pd.date_range("2024-01-01", periods=len(close), freq="1h", tz="UTC")
    opens = np.concatenate(([100.0], close[:-1]))
    return pd.DataFrame({"open": opens, "high": np.maximum(opens, close), "low": np.minimum(opens, close),
                         "close": close, "volume": 1.0}, index=index)  # fmt: skip


def test_parameter_grid_is_every_combination() -> None:
    assert parameter_grid({"b": [1, 2], "a": ["x"]}) == [{"a": "x", "b": 1}, {"a": "x", "b": 2}]
    assert parameter_grid({}) == [{}]


def test_each_fold_picks_what_worked_in_training_and_trades_it_out_of_sample() -> None:
    bars = _trend([0.002, 0.002, -0.002, -0.002])  # up for 200 bars, then down for 200
    grid: list[dict[str, Any]] = [{"side": 1.0}, {"side": -1.0}]
    result = walk_forward_backtest(lambda p: _Sign(**p), grid, bars, WalkForwardSpec(100, 100), costs=BarCosts(0.001))
    assert [outcome.parameters["side"] for outcome in result.folds] == [1.0, 1.0, -1.0]
    assert result.trials == 2
    # fold 1 (bars 200–299) trades the rising regime's choice into the fall: it loses out of sample
    assert result.folds[1].test.total_return < 0 < result.folds[1].train_sharpe


def test_stitched_equity_compounds_the_fold_results() -> None:
    bars = _trend([0.001, -0.001, 0.001, 0.002])
    costs = BarCosts(0.001, 2.0)
    result = walk_forward_backtest(lambda p: _Sign(**p), [{"side": 1.0}], bars, WalkForwardSpec(100, 100), costs=costs)
    growth = 1.0
    for outcome in result.folds:
        test = bars.iloc[outcome.fold.test_index]
        path = run_vectorised(test, pd.Series(1.0, index=test.index), costs=costs)
        growth *= path.equity.iloc[-1] / path.equity.iloc[0]
    assert result.equity.iloc[-1] == pytest.approx(10_000.0 * growth, rel=1e-12)
    assert len(result.equity) == 300
    assert result.performance.fees_paid == pytest.approx(sum(f.test.fees_paid for f in result.folds))
    assert 0.0 <= result.deflated_sharpe <= 1.0
