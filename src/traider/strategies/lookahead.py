"""Look-ahead check: a causal strategy gives the same targets on data truncated at any point.

The idea behind freqtrade's lookahead-analysis: run the strategy on the full history, then on the
history cut at several random points, and compare the targets of the bars both runs saw. A strategy
that peeks at later bars changes its earlier targets when the future is removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from traider.strategies.base import Strategy

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LookaheadReport:
    """Outcome of the check: the cut points tried and the first bar whose target changed, if any."""

    strategy: str
    cuts: tuple[int, ...]
    first_biased_bar: pd.Timestamp | None
    biased_bars: int

    @property
    def clean(self) -> bool:
        """Return True when no earlier target changed at any cut."""
        return self.biased_bars == 0


def check_lookahead(
    strategy: Strategy, bars: pd.DataFrame, *, cuts: int = 10, seed: int = 0, tolerance: float = 1e-12
) -> LookaheadReport:
    """Compare the targets on the full history with those on `cuts` random truncations of it."""
    import numpy as np

    if len(bars) < 3:
        raise ValueError("the look-ahead check needs at least 3 bars")
    full = strategy.targets(bars)
    start = max(strategy.warmup_bars + 1, 2)
    rng = np.random.default_rng(seed)
    points = sorted({int(point) for point in rng.integers(start, len(bars), size=cuts)}) if start < len(bars) else []
    biased_index: set[pd.Timestamp] = set()
    for point in points:
        truncated = strategy.targets(bars.iloc[:point])
        difference = (truncated - full.iloc[:point]).abs() > tolerance
        biased_index.update(truncated.index[difference.to_numpy()])
    first = min(biased_index) if biased_index else None
    return LookaheadReport(
        strategy=strategy.name, cuts=tuple(points), first_biased_bar=first, biased_bars=len(biased_index)
    )
