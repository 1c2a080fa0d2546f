"""Causal technical indicators on pandas Series (row t uses rows up to t only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def ema(values: pd.Series, span: int) -> pd.Series:
    """Return the exponential moving average with the usual span (alpha = 2 / (span + 1)), no bias correction."""
    if span < 1:
        raise ValueError(f"an EMA span must be at least 1, not {span}")
    return values.ewm(span=span, adjust=False).mean()


def rsi(values: pd.Series, period: int = 14) -> pd.Series:
    """Return Wilder's relative strength index in [0, 100]; NaN until `period` changes are known."""
    if period < 1:
        raise ValueError(f"an RSI period must be at least 1, not {period}")
    change = values.diff()
    gains = change.clip(lower=0.0)
    losses = -change.clip(upper=0.0)
    average_gain = gains.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    average_loss = losses.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    strength = average_gain / average_loss
    index = 100.0 - 100.0 / (1.0 + strength)
    return index.where(average_loss != 0.0, 100.0).where(average_gain.notna())


class StreamingEma:
    """The EMA of `ema(values, span)` one value at a time, with pandas' exact arithmetic (bit for bit)."""

    __slots__ = ("_alpha", "_keep", "value")

    def __init__(self, span: int) -> None:
        if span < 1:
            raise ValueError(f"an EMA span must be at least 1, not {span}")
        centre_of_mass = (span - 1) / 2.0
        self._alpha = 1.0 / (1.0 + centre_of_mass)  # as pandas derives alpha from a span
        self._keep = 1.0 - self._alpha
        self.value = float("nan")

    def update(self, value: float) -> float:
        """Fold in `value` and return the new average (NaN values are skipped, as pandas does)."""
        current = self.value
        if current != current:  # noqa: PLR0124 - NaN: nothing seen yet
            self.value = value
        elif value == value and current != value:  # noqa: PLR0124 - skip NaN input
            self.value = (self._keep * current + self._alpha * value) / (self._keep + self._alpha)
        return self.value
