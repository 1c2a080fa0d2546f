"""One backtest run: a strategy on bars with costs → the path, its statistics and a Monte Carlo view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from traider.backtest.vectorised import BarCosts, Execution, VectorisedResult, run_vectorised
from traider.strategies.base import Strategy

if TYPE_CHECKING:
    import pandas as pd

    from traider.backtest.evaluation import Parameters, StrategyFactory, WalkForwardResult
    from traider.backtest.metrics import PerformanceReport
    from traider.backtest.montecarlo import MonteCarloResult
    from traider.backtest.walkforward import WalkForwardSpec

Step = Callable[[str], None]
Engine = Literal["vectorised", "events"]


@dataclass(frozen=True)
class WalkForwardPlan:
    """How to evaluate walk-forward: the splits, the parameter sets to choose from, and how to build them."""

    spec: WalkForwardSpec
    factory: StrategyFactory
    grid: Sequence[Parameters]


@dataclass(frozen=True)
class BacktestRun:
    """Everything a report needs about one run."""

    strategy: str
    bars: pd.DataFrame
    targets: pd.Series
    result: VectorisedResult
    performance: PerformanceReport
    round_trips: pd.DataFrame
    monte_carlo: MonteCarloResult | None
    engine: Engine = "vectorised"
    walk_forward: WalkForwardResult | None = None


def run_backtest(
    strategy: Strategy,
    bars: pd.DataFrame,
    *,
    costs: BarCosts,
    initial_equity: float = 10_000.0,
    execution: Execution = "next_open",
    monte_carlo_paths: int = 0,
    seed: int = 0,
    step: Step | None = None,
    funding: pd.DataFrame | None = None,
    engine: Engine = "vectorised",
    walk_forward: WalkForwardPlan | None = None,
) -> BacktestRun:
    """Run `strategy` on `bars` with `costs`; `step(name)` is called as each stage starts (for progress).

    `engine="events"` replays the bars through the event-driven engine (the worker's code path) instead of
    the vectorised one; both give the same path. `funding` charges perpetual funding; `walk_forward` adds
    an out-of-sample evaluation with parameters chosen fold by fold.
    """
    from traider.backtest.metrics import performance_report
    from traider.backtest.montecarlo import monte_carlo

    announce = step or (lambda _name: None)
    announce("signals")
    targets = strategy.targets(bars)
    announce(f"simulation ({engine} engine)")
    if engine == "events":
        from traider.backtest.events import run_events

        result = run_events(strategy, bars, costs=costs, initial_equity=initial_equity, execution=execution,
                            funding=funding)  # fmt: skip
    else:
        result = run_vectorised(bars, targets, costs=costs, initial_equity=initial_equity, execution=execution,
                                funding=funding)  # fmt: skip
    trips = round_trips(result)
    announce("statistics")
    performance = performance_report(
        result.equity,
        trade_pnls=trips["pnl"].to_numpy() if len(trips) else None,
        positions=result.units * bars["close"],
        fees_paid=result.fees_paid,
        slippage_paid=result.slippage_paid,
        funding_received=result.funding_received,
    )
    simulated = None
    if monte_carlo_paths > 0 and len(bars) > 2:
        announce("monte carlo")
        returns = result.equity.pct_change().dropna().to_numpy()
        simulated = monte_carlo(
            returns, paths=monte_carlo_paths, seed=seed, periods_per_year=performance.periods_per_year
        )
    evaluation = None
    if walk_forward is not None:
        from traider.backtest.evaluation import walk_forward_backtest

        announce("walk-forward")
        evaluation = walk_forward_backtest(walk_forward.factory, walk_forward.grid, bars, walk_forward.spec,
                                           costs=costs, initial_equity=initial_equity, execution=execution,
                                           funding=funding)  # fmt: skip
    return BacktestRun(strategy.name, bars, targets, result, performance, trips, simulated, engine, evaluation)


def round_trips(result: VectorisedResult) -> pd.DataFrame:
    """Return one row per stretch of a non-zero position: entry, exit, side and P&L after costs."""
    import numpy as np
    import pandas as pd

    units = result.units.to_numpy()
    equity = result.equity.to_numpy()
    holding = units != 0.0
    edges = np.flatnonzero(np.diff(np.concatenate(([False], holding, [False])).astype(np.int8)))
    rows = []
    for entry, stop in zip(edges[::2], edges[1::2], strict=True):
        exit_at = min(stop, len(units) - 1)
        before = equity[entry - 1] if entry > 0 else equity[0]
        rows.append(
            {
                "entry": result.units.index[entry],
                "exit": result.units.index[exit_at],
                "side": "long" if units[entry] > 0 else "short",
                "bars": int(stop - entry),
                "pnl": float(equity[exit_at] - before),
                "return": float(equity[exit_at] / before - 1.0),
            }
        )
    return pd.DataFrame(rows, columns=["entry", "exit", "side", "bars", "pnl", "return"])
