"""The strategy contract (interface version 1), shared by the vectorised backtest, the event replay and the worker.

A strategy has three methods, in the spirit of freqtrade's `IStrategy`:

- `indicators(bars)` adds indicator columns to OHLCV bars (indexed by bar open time, UTC);
- `target_position(frame)` turns them into a target exposure per bar, a fraction of equity in [-1, 1],
  decided at that bar's close;
- `on_bar(history)` gives the target for the newest bar of a history window: what the event-driven
  engine and the live worker call. Its default derives it from the first two, so one definition serves
  all three places.

Both vectorised methods must be causal: the value at bar t may use bars up to and including t only.
`traider.strategies.lookahead.check_lookahead` verifies that by re-running on truncated data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import pandas as pd

STRATEGY_INTERFACE_VERSION = 1
BAR_COLUMNS = ("open", "high", "low", "close", "volume")


class Strategy(ABC):
    """A trading strategy: from OHLCV bars to a target exposure per bar."""

    interface_version: ClassVar[int] = STRATEGY_INTERFACE_VERSION
    name: ClassVar[str]
    warmup_bars: int = 0  # bars before the first meaningful target; their targets are 0

    @abstractmethod
    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Return `bars` with indicator columns added; row t may only use rows up to t."""

    @abstractmethod
    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        """Return the target exposure per bar in [-1, 1], decided at the bar's close."""

    def targets(self, bars: pd.DataFrame) -> pd.Series:
        """Return the target exposure for every bar, clipped to [-1, 1], zero during the warm-up."""
        target = self.target_position(self.indicators(bars)).astype("float64").clip(-1.0, 1.0).fillna(0.0)
        if self.warmup_bars:
            target.iloc[: self.warmup_bars] = 0.0
        return target

    def on_bar(self, history: pd.DataFrame) -> float:
        """Return the target exposure for the newest bar of `history` (the event engine's and worker's call)."""
        if history.empty:
            return 0.0
        return float(self.targets(history).iloc[-1])
