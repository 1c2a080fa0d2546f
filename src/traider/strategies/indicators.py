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
