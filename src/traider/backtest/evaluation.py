"""Walk-forward evaluation of a strategy: choose parameters on each training window, trade the next test
window out of sample, and stitch the test windows into one out-of-sample equity curve.

The splits come from `traider.backtest.walkforward` (rolling or expanding, with purge and embargo), the
same splits model training uses. In each fold every parameter set in the grid is backtested on the
training window with full costs; the one with the best Sharpe ratio is then run on the test window,
starting flat with the initial equity. The strategy's targets are computed on the history up to the end
of the test window: strategies are causal (see `traider.strategies.lookahead`), so a target never sees
later bars, and the training bars serve as the indicators' warm-up. The deflated Sharpe ratio of the
stitched returns accounts for the number of parameter sets tried.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traider.backtest.vectorised import BarCosts, Execution, VectorisedResult, run_vectorised
from traider.backtest.walkforward import Fold, WalkForwardSpec, stitch_out_of_sample, walk_forward_splits

if TYPE_CHECKING:
    import pandas as pd

    from traider.backtest.metrics import PerformanceReport
    from traider.strategies.base import Strategy

Parameters = Mapping[str, Any]
StrategyFactory = Callable[[Parameters], "Strategy"]


@dataclass(frozen=True)
class FoldOutcome:
    """One fold: its windows, the parameters chosen in training, and both windows' statistics."""

    fold: Fold
    parameters: dict[str, Any]
    train_sharpe: float
    test: PerformanceReport
    test_equity: pd.Series

    def to_dict(self) -> dict[str, Any]:
        """Return the fold as JSON-safe data."""
        return {
            "fold": self.fold.number,
            "train_start": self.fold.train_span[0].isoformat(),
            "train_end": self.fold.train_span[1].isoformat(),
            "test_start": self.fold.test_span[0].isoformat(),
            "test_end": self.fold.test_span[1].isoformat(),
            "parameters": dict(self.parameters),
            "train_sharpe": _finite(self.train_sharpe),
            "test_sharpe": _finite(self.test.sharpe_ratio),
            "test_return": _finite(self.test.total_return),
            "test_max_drawdown": _finite(self.test.max_drawdown),
            "test_fees_paid": self.test.fees_paid,
        }


@dataclass(frozen=True)
class WalkForwardResult:
    """All folds, the stitched out-of-sample equity and its statistics."""

    folds: list[FoldOutcome]
    equity: pd.Series
    performance: PerformanceReport
    trials: int
    deflated_sharpe: float

    def to_dict(self) -> dict[str, Any]:
        """Return the evaluation as JSON-safe data."""
        return {
            "folds": [fold.to_dict() for fold in self.folds],
            "trials": self.trials,
            "deflated_sharpe_probability": _finite(self.deflated_sharpe),
            "out_of_sample": self.performance.to_dict(),
        }


def parameter_grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Return every combination of the values in `space` (one empty set when it is empty)."""
    names = sorted(space)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(space[name] for name in names))]


def walk_forward_backtest(
    factory: StrategyFactory,
    grid: Sequence[Parameters],
    bars: pd.DataFrame,
    spec: WalkForwardSpec,
    *,
    costs: BarCosts,
    initial_equity: float = 10_000.0,
    execution: Execution = "next_open",
    funding: pd.DataFrame | None = None,
) -> WalkForwardResult:
    """Evaluate `factory(parameters)` for each parameter set in `grid` walk-forward over `bars`."""
    import pandas as pd

    from traider.backtest.deflated_sharpe import walk_forward_dsr
    from traider.backtest.metrics import performance_report, sharpe_ratios

    choices = list(grid) or [{}]
    strategies = [factory(parameters) for parameters in choices]
    folds = walk_forward_splits(pd.DatetimeIndex(bars.index), spec)
    outcomes: list[FoldOutcome] = []
    trial_sharpes: list[float] = []
    for fold in folds:
        history = bars.iloc[: int(fold.test_index[-1]) + 1]
        train_bars = bars.iloc[fold.train_index]
        scored: list[tuple[float, int]] = []
        for number, strategy in enumerate(strategies):
            targets = strategy.targets(history)
            path = run_vectorised(train_bars, targets.iloc[fold.train_index], costs=costs,
                                  initial_equity=initial_equity, execution=execution, funding=funding)  # fmt: skip
            sharpe = float(sharpe_ratios(_returns(path), _periods_per_year(train_bars)))
            scored.append((sharpe if math.isfinite(sharpe) else -math.inf, number))
        train_sharpe, best = max(scored)
        trial_sharpes.extend(value for value, _ in scored)
        test_bars = bars.iloc[fold.test_index]
        targets = strategies[best].targets(history).iloc[fold.test_index]
        test_path = run_vectorised(test_bars, targets, costs=costs, initial_equity=initial_equity,
                                   execution=execution, funding=funding)  # fmt: skip
        outcomes.append(FoldOutcome(fold, dict(choices[best]), train_sharpe, _performance(test_path), test_path.equity))
    equity = stitch_out_of_sample([outcome.test_equity for outcome in outcomes], "equity", initial_equity)
    performance = performance_report(
        equity,
        fees_paid=sum(outcome.test.fees_paid for outcome in outcomes),
        slippage_paid=sum(outcome.test.slippage_paid for outcome in outcomes),
        funding_received=sum(outcome.test.funding_received for outcome in outcomes),
    )
    returns = equity.pct_change().dropna().to_numpy()
    deflated = walk_forward_dsr(returns, len(choices), trial_sharpes, _periods_per_year(bars))
    return WalkForwardResult(outcomes, equity, performance, len(choices), deflated)


def _performance(path: VectorisedResult) -> PerformanceReport:
    from traider.backtest.metrics import performance_report

    return performance_report(
        path.equity,
        positions=path.exposure * path.equity,
        fees_paid=path.fees_paid,
        slippage_paid=path.slippage_paid,
        funding_received=path.funding_received,
    )


def _returns(path: VectorisedResult) -> Any:
    values = path.equity.to_numpy(dtype="float64")
    return values[1:] / values[:-1] - 1.0


def _periods_per_year(bars: pd.DataFrame) -> float:
    from traider.backtest.metrics import infer_periods_per_year

    return infer_periods_per_year(bars.index)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
