"""The bar features one bar at a time: what the live worker computes as each bar closes, in O(1) per bar.

`StreamingBarFeatures.update(bar)` returns, for the newest bar, exactly the row that
`traider.features.online.bar_features` gives for the last bar of the same history (a parity test holds
them equal on the shared data). It holds only the state the rules need: the previous close, the seven EMA
recursions (`online.Ema`, the SQL aggregate's arithmetic) and the last 24 log returns and 20 closes, whose
deviations are recomputed from the window each bar (never from running sums). Every rule (the log return,
gains and losses, true range, RSI, %B, window statistics and warm-ups) is the function of
`traider.features.online` that `bar_features` applies to a whole series, so the two cannot drift apart.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from traider.features.online import (
    ATR_PERIOD,
    BOLLINGER_WINDOW,
    FIRST_BAR_INDEX,
    MACD_FAST,
    MACD_SIGNAL,
    MACD_SLOW,
    NAN,
    RATIO_SPANS,
    RSI_PERIOD,
    VOLATILITY_WINDOW,
    Ema,
    gain_and_loss,
    log_return,
    percent_b,
    population_std,
    quotient,
    relative_strength_index,
    sample_std,
    span_alpha,
    true_range,
    window_mean,
)

_WARM_UP = tuple((name, first) for name, first in FIRST_BAR_INDEX.items() if first > 0)
_WARM_UP_BARS = max(first for _, first in _WARM_UP)


class PriceBar(Protocol):
    """What the bar features read from a bar (`traider.strategies.base.Bar` is one)."""

    @property
    def high(self) -> float: ...

    @property
    def low(self) -> float: ...

    @property
    def close(self) -> float: ...


class StreamingBarFeatures:
    """The bar features (`online.BAR_FEATURES`) of one series, updated bar by bar.

    Feed the series' bars in time order, each once; a missing bar is skipped, never filled, as in
    `bar_features`. `bar_index` counts the bars fed, from 0.
    """

    __slots__ = ("_closes", "_ema", "_gain", "_loss", "_previous", "_range", "_returns", "_signal", "bar_index")

    def __init__(self) -> None:
        self.bar_index = -1  # of the last bar fed
        self._previous = NAN
        self._ema = {span: Ema(span_alpha(span)) for span in {MACD_FAST, MACD_SLOW, *RATIO_SPANS}}
        self._signal = Ema(span_alpha(MACD_SIGNAL))
        self._gain, self._loss, self._range = Ema(1 / RSI_PERIOD), Ema(1 / RSI_PERIOD), Ema(1 / ATR_PERIOD)
        self._returns: deque[float] = deque(maxlen=VOLATILITY_WINDOW)
        self._closes: deque[float] = deque(maxlen=BOLLINGER_WINDOW)

    def update(self, bar: PriceBar) -> dict[str, float]:
        """Fold in the next bar and return its features, keyed like `BAR_FEATURES` (NaN while unknown)."""
        high, low, close = float(bar.high), float(bar.low), float(bar.close)
        index = self.bar_index = self.bar_index + 1
        previous, self._previous = self._previous, close
        change = log_return(previous, close)
        self._returns.append(change)
        self._closes.append(close)
        gain, loss = gain_and_loss(previous, close)
        average_gain, average_loss = self._gain.update(gain), self._loss.update(loss)
        emas = {span: state.update(close) for span, state in self._ema.items()}
        macd = emas[MACD_FAST] - emas[MACD_SLOW]
        signal = self._signal.update(macd)
        closes, returns = self._closes, self._returns
        values = {
            "bar_index": float(index),
            "log_return": change,
            "realised_vol_24": sample_std(returns) if len(returns) == VOLATILITY_WINDOW else NAN,
            "rsi_14": relative_strength_index(average_gain, average_loss),
            "macd_line": macd,
            "macd_signal": signal,
            "macd_hist": macd - signal,
            "bollinger_pctb_20": percent_b(close, window_mean(closes), population_std(closes))
            if len(closes) == BOLLINGER_WINDOW
            else NAN,
            "atr_14": self._range.update(true_range(high, low, previous)),
            **{f"ema_ratio_{span}": quotient(close, emas[span]) for span in RATIO_SPANS},
        }
        if index < _WARM_UP_BARS:
            for name, first in _WARM_UP:
                if index < first:
                    values[name] = NAN
        return values
