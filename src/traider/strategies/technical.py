"""Technical baselines on spot: EMA crossover and RSI mean reversion."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from traider.strategies.base import Bar, SignalStream, Strategy
from traider.strategies.indicators import StreamingEma, ema, rsi

if TYPE_CHECKING:
    import pandas as pd


class EmaCrossover(Strategy):
    """Long while the fast EMA of the close is above the slow one; flat (or short) otherwise."""

    name: ClassVar[str] = "ema_crossover"

    def __init__(self, fast: int = 12, slow: int = 26, *, allow_short: bool = False) -> None:
        if not 1 <= fast < slow:
            raise ValueError(f"need 1 <= fast < slow, not fast={fast}, slow={slow}")
        self.fast, self.slow, self.allow_short = fast, slow, allow_short
        self.warmup_bars = slow

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Add `ema_fast` and `ema_slow` of the close."""
        return bars.assign(ema_fast=ema(bars["close"], self.fast), ema_slow=ema(bars["close"], self.slow))

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        """Return 1 when the fast EMA is above the slow one, else 0 (or -1 with shorts allowed)."""
        above = (frame["ema_fast"] > frame["ema_slow"]).astype("float64")
        return above * 2.0 - 1.0 if self.allow_short else above

    def stream(self) -> SignalStream:
        """Return the O(1) incremental form of `targets()`."""
        return _EmaCrossoverStream(self)


class _EmaCrossoverStream:
    __slots__ = ("_fast", "_seen", "_short", "_slow", "_warmup")

    def __init__(self, strategy: EmaCrossover) -> None:
        self._fast, self._slow = StreamingEma(strategy.fast), StreamingEma(strategy.slow)
        self._short, self._warmup, self._seen = strategy.allow_short, strategy.warmup_bars, 0

    def update(self, bar: Bar) -> float:
        fast, slow = self._fast.update(bar.close), self._slow.update(bar.close)
        self._seen += 1
        if self._seen <= self._warmup:
            return 0.0
        if fast > slow:
            return 1.0
        return -1.0 if self._short else 0.0


class RsiMeanReversion(Strategy):
    """Buy when RSI falls below `entry`, sell when it rises above `exit`: long-only mean reversion."""

    name: ClassVar[str] = "rsi_mean_reversion"

    def __init__(self, period: int = 14, entry: float = 30.0, exit: float = 55.0) -> None:
        if not 0.0 < entry < exit < 100.0:
            raise ValueError(f"need 0 < entry < exit < 100, not entry={entry}, exit={exit}")
        self.period, self.entry, self.exit = period, entry, exit
        self.warmup_bars = period

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Add Wilder's `rsi` of the close."""
        return bars.assign(rsi=rsi(bars["close"], self.period))

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        """Hold 1 from an RSI below `entry` until an RSI above `exit`, else 0."""
        import numpy as np
        import pandas as pd

        signal = pd.Series(np.nan, index=frame.index)
        signal[frame["rsi"] < self.entry] = 1.0
        signal[frame["rsi"] > self.exit] = 0.0
        return signal.ffill().fillna(0.0)
