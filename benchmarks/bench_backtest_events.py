"""Benchmark `backtest_events`: the event-driven engine against backtrader, bar by bar, on the same strategy.

Both sides run an EMA(50, 200) crossover, long or flat, on the same seeded random-walk one-minute bars,
deciding at each bar's close and filling at the next bar's open with a 0.1% fee. Ours goes through the
whole live path per bar: bar events on a simulated clock, the strategy's incremental signal, the risk
engine, sizing and the paper broker, the ledger. backtrader runs in its fastest default mode (preloaded
data, vectorised `runonce` indicators) with `order_target_percent`. Before timing, both are checked to
enter and leave the market on the same bars. Throughput is bars per second; the ratio is ours /
backtrader's, target >= 10.
"""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks.harness import BenchmarkResult, repeats

ROWS_ENV = "TRAIDER_BENCH_EVENTS_ROWS"
FEE = 0.001
FAST, SLOW = 50, 200


def _bars(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    close = 30.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, rows)))
    index = pd.date_range("2023-01-01", periods=rows, freq="1min", tz="UTC")
    opens = np.concatenate(([close[0]], close[:-1]))
    return pd.DataFrame({"open": opens, "high": np.maximum(opens, close), "low": np.minimum(opens, close),
                         "close": close, "volume": 1.0}, index=index)  # fmt: skip


def ours(bars: Any) -> Any:
    """Run our event engine; return its result path."""
    from traider.backtest.events import run_events
    from traider.backtest.vectorised import BarCosts
    from traider.strategies.technical import EmaCrossover

    return run_events(EmaCrossover(FAST, SLOW), bars, costs=BarCosts(fee_rate=FEE))


def backtrader(bars: Any) -> list[tuple[int, str]]:
    """Run backtrader; return (bar number, "buy" | "sell") of each executed order (it sizes in whole units,
    so the bars are priced near 30 to keep the rounding small)."""
    import backtrader as bt

    class Crossover(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.above = bt.ind.EMA(period=FAST) > bt.ind.EMA(period=SLOW)
            self.executed: list[tuple[int, str]] = []

        def next(self) -> None:
            self.order_target_percent(target=0.95 if self.above[0] else 0.0)

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                self.executed.append((len(self) - 1, "buy" if order.isbuy() else "sell"))

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars.tz_convert(None)))
    cerebro.addstrategy(Crossover)
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(commission=FEE)
    (strategy,) = cerebro.run()
    return list(strategy.executed)


def run(*, runs: int | None = None) -> BenchmarkResult:
    """Time both engines on the same bars and return bars per second (higher is better)."""
    import backtrader as bt

    runs = runs if runs is not None else repeats(3)
    rows = int(os.environ.get(ROWS_ENV, "200000"))
    bars = _bars(rows)
    our_trades = ours(bars).trades
    # backtrader's EMA is seeded with an SMA of its first `period` values, ours (pandas') with the first value,
    # so the two agree on every crossing once the seeds have decayed: compare after a generous warm-up
    settled = bars.index[10 * SLOW]
    positions = bars.index.get_indexer(our_trades["ts"])
    ours_sides = [(int(number), side) for number, side in zip(positions, our_trades["side"], strict=True)
                  if bars.index[number] > settled]  # fmt: skip
    theirs_sides = [(number, side) for number, side in backtrader(bars) if bars.index[number] > settled]
    if ours_sides != theirs_sides:
        raise RuntimeError(
            f"the engines traded differently ({len(ours_sides)} vs {len(theirs_sides)} fills after the warm-up): "
            "the timing would compare different work"
        )
    ours_runs, peer_runs = [], []
    for _ in range(runs):
        ours_runs.append(rows / _seconds(lambda: ours(bars)))
        peer_runs.append(rows / _seconds(lambda: backtrader(bars)))
    return BenchmarkResult.compare(
        name="backtest_events",
        description=__doc__.strip().splitlines()[0] if __doc__ else "",
        unit="bars/s",
        ours_runs=ours_runs,
        peer_runs=peer_runs,
        peer_name=f"backtrader {bt.__version__} (preload, runonce)",
        target=10.0,
        higher_is_better=True,
        details={
            "rows": rows,
            "fills_compared_after_warmup": len(ours_sides),
            "execution": "decided at the bar's close, filled at the next bar's open, fee 0.1%",
            "our_path": "bar events -> SignalStream -> RiskEngine -> sizing -> PaperBroker -> Portfolio",
        },
    )


def _seconds(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started
