"""The online twin of the dbt feature models: the same feature definitions, computed with pandas.

The dbt models in `dbt/` are the offline definition of every feature; the live worker computes the
same values from the bars, trades, book snapshots and funding settlements it holds, with these
functions, and a parity test holds the two equal to 1e-9 on the shared data. Each function names the
model it mirrors. The rules they share:

- Bars are the rows of one series (venue, symbol, timeframe) in time order; a missing bar is skipped,
  never filled. `bar_index` counts the bars of the series from 0.
- EMA(x, alpha): y_0 = x_0, y_t = (1 - alpha) * y_{t-1} + alpha * x_t (y_t = y_{t-1} when x_t equals
  it), NULL inputs skipped; span n means alpha = 2 / (n + 1), Wilder's smoothing over n means
  alpha = 1 / n. `Ema` runs the same floating-point operations as the SQL aggregate `intermediate.ema`,
  so the two agree bit for bit; pandas' `ewm(alpha=alpha, adjust=False)` agrees up to rounding (it
  re-derives alpha from a centre of mass). Recursions start at the first bar; warm-up values are hidden.
- A feature is NaN (NULL in the database) until the series has the bars it needs, and where it is
  undefined (a zero denominator).
- A statistic over a window of the last n bars is recomputed from the window's values (exactly rounded
  sums, as the database recomputes each window frame), never from running sums that drift.

Each bar-feature rule is one function of one bar's inputs (after `bar_features`), with the parameters and
warm-ups as constants: `bar_features` applies them to a whole series (the reference the dbt parity test
holds), `traider.features.streaming.StreamingBarFeatures` bar by bar for the live worker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

SERIES_KEY = ("venue", "symbol", "timeframe")
BAR_FEATURES = (
    "bar_index",
    "log_return",
    "realised_vol_24",
    "rsi_14",
    "macd_line",
    "macd_signal",
    "macd_hist",
    "bollinger_pctb_20",
    "atr_14",
    "ema_ratio_12",
    "ema_ratio_26",
    "ema_ratio_50",
)
FUNDING_FEATURES = ("funding_rate", "funding_rate_zscore_30", "funding_drift_3")
ORDER_FLOW_FEATURES = ("trade_count", "buy_volume", "sell_volume", "order_flow_imbalance")
BOOK_FEATURES = ("best_bid", "best_ask", "spread_bps", "depth_imbalance_5", "microprice")
_UNITS = {"m": 60, "h": 3600, "d": 86400}

# The parameters of the bar features (their names carry them too).
VOLATILITY_WINDOW = 24  # realised_vol_24: log returns
RSI_PERIOD = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BOLLINGER_WINDOW, BOLLINGER_WIDTH = 20, 2.0
ATR_PERIOD = 14
RATIO_SPANS = (12, 26, 50)  # ema_ratio_n
FIRST_BAR_INDEX: Mapping[str, int] = MappingProxyType(
    {  # the first bar_index at which each bar feature has a value; NaN before it (the warm-up)
        "bar_index": 0,
        "log_return": 1,
        "realised_vol_24": VOLATILITY_WINDOW,  # 24 log returns, the first one at bar 1
        "rsi_14": RSI_PERIOD,
        "macd_line": MACD_SLOW - 1,
        "macd_signal": MACD_SLOW + MACD_SIGNAL - 2,
        "macd_hist": MACD_SLOW + MACD_SIGNAL - 2,
        "bollinger_pctb_20": BOLLINGER_WINDOW - 1,
        "atr_14": ATR_PERIOD,
        **{f"ema_ratio_{span}": span - 1 for span in RATIO_SPANS},
    }
)
NAN = math.nan


@dataclass
class Ema:
    """The EMA one value at a time (the state of the SQL aggregate intermediate.ema): seed with the first value."""

    alpha: float
    value: float = math.nan

    def update(self, value: float) -> float:
        """Fold in `value` (NaN is skipped) and return the new average."""
        if math.isnan(value):
            return self.value
        if math.isnan(self.value):
            self.value = value
        elif value != self.value:
            self.value = (1 - self.alpha) * self.value + self.alpha * value
        return self.value


def ema(values: pd.Series, alpha: float) -> pd.Series:
    """Return the EMA of `values` with smoothing `alpha`, seeded by the first value, NaN skipped (intermediate.ema)."""
    import pandas as pd

    return pd.Series(_ema_path(values.to_numpy(dtype="float64").tolist(), alpha), index=values.index)


def _ema_path(values: Sequence[float], alpha: float) -> list[float]:
    update = Ema(alpha).update
    return [update(value) for value in values]


def span_alpha(span: int) -> float:
    """Return the smoothing factor of an EMA over `span` bars: 2 / (span + 1)."""
    return 2 / (span + 1)


def bar_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Return the bar features of one series (int_bar_indicators), indexed like `bars`.

    `bars` holds one series' bars in time order with columns high, low and close. The features:
    - log_return = ln(close_t / close_{t-1});
    - realised_vol_24 = sample standard deviation of the last 24 log returns (bar_index >= 24);
    - rsi_14 = 100 * G / (G + L), G and L the Wilder EMAs (alpha 1/14) of the gains max(Δclose, 0) and
      losses max(-Δclose, 0) from bar 1 on (bar_index >= 14; NaN when G + L = 0);
    - macd_line = EMA12(close) - EMA26(close) (bar_index >= 25); macd_signal = EMA9(macd_line)
      (bar_index >= 33); macd_hist = macd_line - macd_signal;
    - bollinger_pctb_20 = (close - lower) / (upper - lower), bands SMA20 ± 2 σ20 with σ20 the population
      standard deviation of the last 20 closes (bar_index >= 19; NaN when σ20 = 0);
    - atr_14 = Wilder EMA (alpha 1/14) of the true range max(high - low, |high - close_{t-1}|,
      |low - close_{t-1}|) from bar 1 on (bar_index >= 14);
    - ema_ratio_n = close / EMA_n(close) for n = 12, 26, 50 (bar_index >= n - 1).

    The whole series at once, from the one-bar rules below; `traider.features.streaming.StreamingBarFeatures`
    gives the same values bar by bar.
    """
    import numpy as np
    import pandas as pd

    high, low, close = (bars[column].to_numpy(dtype="float64").tolist() for column in ("high", "low", "close"))
    previous = [NAN, *close[:-1]]
    returns = list(map(log_return, previous, close))
    gains, losses = zip(*map(gain_and_loss, previous, close), strict=True) if close else ((), ())
    emas = {span: _ema_path(close, span_alpha(span)) for span in {MACD_FAST, MACD_SLOW, *RATIO_SPANS}}
    macd = [fast - slow for fast, slow in zip(emas[MACD_FAST], emas[MACD_SLOW], strict=True)]
    signal = _ema_path(macd, span_alpha(MACD_SIGNAL))
    average_gain, average_loss = _ema_path(gains, 1 / RSI_PERIOD), _ema_path(losses, 1 / RSI_PERIOD)
    features = pd.DataFrame(
        {
            "bar_index": np.arange(len(close), dtype="int64"),
            "log_return": returns,
            "realised_vol_24": _rolling(returns, VOLATILITY_WINDOW, sample_std),
            "rsi_14": list(map(relative_strength_index, average_gain, average_loss)),
            "macd_line": macd,
            "macd_signal": signal,
            "macd_hist": [line - value for line, value in zip(macd, signal, strict=True)],
            "bollinger_pctb_20": list(
                map(
                    percent_b,
                    close,
                    _rolling(close, BOLLINGER_WINDOW, window_mean),
                    _rolling(close, BOLLINGER_WINDOW, population_std),
                )
            ),
            "atr_14": _ema_path(list(map(true_range, high, low, previous)), 1 / ATR_PERIOD),
            **{f"ema_ratio_{span}": list(map(quotient, close, emas[span])) for span in RATIO_SPANS},
        },
        index=bars.index,
    )
    features = features.astype({column: "float64" for column in BAR_FEATURES if column != "bar_index"})
    for column, first in FIRST_BAR_INDEX.items():
        if first:
            features[column] = features[column].where(features["bar_index"] >= first)
    return features


def _rolling(values: Sequence[float], window: int, statistic: Callable[[Sequence[float]], float]) -> list[float]:
    """`statistic` of each full window of `window` values ending at each position (NaN before the first)."""
    return [NAN] * min(window - 1, len(values)) + [
        statistic(values[end - window : end]) for end in range(window, len(values) + 1)
    ]


# The one-bar rules of the bar features, shared by `bar_features` and `traider.features.streaming`.


def quotient(numerator: float, denominator: float) -> float:
    """Return numerator / denominator divided as numpy and SQL floats divide (±inf or NaN for a zero denominator)."""
    try:
        return numerator / denominator
    except ZeroDivisionError:
        if numerator == 0 or math.isnan(numerator):
            return NAN
        return math.copysign(math.inf, numerator) * math.copysign(1.0, denominator)


def log_return(previous: float, close: float) -> float:
    """Return ln(close / previous): NaN without a previous close."""
    ratio = quotient(close, previous)
    if ratio > 0:
        return math.log(ratio)
    return -math.inf if ratio == 0 else NAN


def gain_and_loss(previous: float, close: float) -> tuple[float, float]:
    """Return the rise max(close - previous, 0) and the fall max(previous - close, 0): NaN without a previous close."""
    rise, fall = close - previous, previous - close
    if math.isnan(rise):
        return NAN, NAN
    return (rise if rise > 0 else 0.0), (fall if fall > 0 else 0.0)


def true_range(high: float, low: float, previous: float) -> float:
    """Return max(high - low, |high - previous|, |low - previous|), NaN terms ignored: NaN without a previous close."""
    if math.isnan(previous):
        return NAN
    terms = [term for term in (high - low, abs(high - previous), abs(low - previous)) if not math.isnan(term)]
    return max(terms) if terms else NAN


def relative_strength_index(average_gain: float, average_loss: float) -> float:
    """Return 100 * G / (G + L): NaN when G + L is 0 (or unknown)."""
    total = average_gain + average_loss
    return 100 * average_gain / total if total > 0 else NAN


def percent_b(close: float, mean: float, deviation: float) -> float:
    """Return (close - lower) / (upper - lower) with the bands mean ± 2 deviation: NaN when the deviation is 0."""
    if not deviation > 0:
        return NAN
    lower, upper = mean - BOLLINGER_WIDTH * deviation, mean + BOLLINGER_WIDTH * deviation
    return quotient(close - lower, upper - lower)


def window_mean(values: Sequence[float]) -> float:
    """Return the mean of a window's values from their exactly rounded sum (NaN if one is NaN)."""
    try:
        return math.fsum(values) / len(values)
    except ValueError:  # inf - inf
        return NAN


def window_std(values: Sequence[float], ddof: int) -> float:
    """Return the standard deviation of a window's values (ddof 0: population, 1: sample), NaN if one is NaN.

    Two passes over the values with exactly rounded sums, exactly 0 when they are all equal: stable where
    pandas' running `rolling().std()` drifts (by up to ~1e-8 relative on real closes).
    """
    count = len(values)
    if count <= ddof or math.isnan(first := values[0]):
        return NAN
    if values.count(first) == count:
        return 0.0
    mean = window_mean(values)
    try:
        return math.sqrt(math.fsum([(value - mean) * (value - mean) for value in values]) / (count - ddof))
    except ValueError:  # inf - inf
        return NAN


def population_std(values: Sequence[float]) -> float:
    """Return the population standard deviation of a window (σ20 of the Bollinger bands)."""
    return window_std(values, 0)


def sample_std(values: Sequence[float]) -> float:
    """Return the sample standard deviation of a window (realised_vol_24)."""
    return window_std(values, 1)


def timeframe_seconds(timeframe: str) -> int:
    """Return the length in seconds of a target timeframe (1m … 1d, dividing one day), or raise ValueError."""
    number, unit = timeframe[:-1], timeframe[-1:]
    if not number.isdigit() or int(number) < 1 or unit not in _UNITS:
        raise ValueError(f"timeframe {timeframe!r} is not like 5m, 1h or 1d")
    seconds = int(number) * _UNITS[unit]
    if 86_400 % seconds:
        raise ValueError(f"timeframe {timeframe!r} does not divide one day")
    return seconds


def resample_bars(bars: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Return one series' bars resampled to `timeframe`, complete buckets only (int_bars).

    `bars` holds bars of one source timeframe (its `timeframe` column, or all of the same length) with
    columns ts (open time, UTC), open, high, low, close and volume. A bucket [T, T + timeframe), T a
    multiple of the timeframe since 1970-01-01 UTC, becomes a bar when every sub-bar is there: open of the
    first, max high, min low, close of the last, volume summed in time order. The result has columns ts,
    available_at (= ts + timeframe), open, high, low, close, volume and sub_bars.
    """
    import pandas as pd

    seconds = timeframe_seconds(timeframe)
    frame = bars.sort_values("ts").reset_index(drop=True)
    source = _source_seconds(frame)
    if seconds % source:
        raise ValueError(f"bars of {source} s cannot be resampled to {timeframe}")
    buckets = frame["ts"].dt.floor(f"{seconds}s")
    grouped = frame.groupby(buckets, sort=True)
    result = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
            "sub_bars": grouped.size(),
        }
    )
    result = result[result["sub_bars"] == seconds // source].rename_axis("ts").reset_index()
    result.insert(1, "available_at", result["ts"] + pd.Timedelta(seconds=seconds))
    return result


def _source_seconds(frame: pd.DataFrame) -> int:
    if "timeframe" in frame.columns:
        lengths = {timeframe_seconds(str(name)) for name in frame["timeframe"].unique()}
        if len(lengths) != 1:
            raise ValueError("resample_bars takes bars of one source timeframe")
        return lengths.pop()
    steps = frame["ts"].diff().dropna()
    if steps.empty:
        raise ValueError("resample_bars needs a timeframe column or at least two bars")
    return int(steps.min().total_seconds())


def funding_features(settlements: pd.DataFrame) -> pd.DataFrame:
    """Return the funding features per settlement of one perpetual (int_funding_settlements).

    `settlements` holds columns settled_at and rate in time order. funding_rate = rate;
    funding_rate_zscore_30 = (rate - mean) / sample standard deviation over the last 30 settlements,
    this one included (from the 30th on; NaN when the deviation is 0); funding_drift_3 = sum of the
    last 3 rates (from the 3rd on).
    """
    import numpy as np
    import pandas as pd

    rate = settlements["rate"].astype("float64")
    count = pd.Series(np.arange(1, len(rate) + 1), index=rate.index)
    mean, deviation = rate.rolling(30).mean(), rate.rolling(30).std(ddof=1)
    return pd.DataFrame(
        {
            "settled_at": settlements["settled_at"],
            "funding_rate": rate,
            "funding_rate_zscore_30": ((rate - mean) / deviation).where((count >= 30) & (deviation > 0)),
            "funding_drift_3": rate.rolling(3).sum().where(count >= 3),
        },
        index=settlements.index,
    )


def funding_as_of(bars: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Return, for each bar (column available_at), the funding features of the last settlement before it closed.

    `features` is `funding_features(...)` of the same perpetual. The settlement must be strictly before
    the bar's close (features.features); bars before the first settlement get NaN.
    """
    import pandas as pd

    left = bars[["available_at"]].reset_index().sort_values("available_at")
    right = features.sort_values("settled_at")
    joined = pd.merge_asof(
        left, right, left_on="available_at", right_on="settled_at", direction="backward", allow_exact_matches=False
    )
    index_name = bars.index.name or "index"
    return joined.set_index(index_name).loc[bars.index, [*FUNDING_FEATURES, "settled_at"]]


def order_flow(trades: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Return the aggressor volumes per bar of one symbol's trades (int_order_flow), indexed by bar open time.

    `trades` holds columns ts, amount and side (buy, sell or missing). trade_count counts every trade of
    the bar; buy_volume and sell_volume sum the amounts by aggressor side; order_flow_imbalance =
    (buy_volume - sell_volume) / (buy_volume + sell_volume), NaN when both are 0.
    """
    import pandas as pd

    seconds = timeframe_seconds(timeframe)
    frame = trades.sort_values(["ts", "trade_id"] if "trade_id" in trades.columns else ["ts"])
    buckets = frame["ts"].dt.floor(f"{seconds}s").rename("ts")
    amount = frame["amount"].astype("float64")
    buy = amount.where(frame["side"] == "buy", 0.0)
    sell = amount.where(frame["side"] == "sell", 0.0)
    grouped = pd.DataFrame({"trade": 1, "buy": buy, "sell": sell}).groupby(buckets, sort=True)
    result = pd.DataFrame(
        {
            "trade_count": grouped["trade"].sum(),
            "buy_volume": grouped["buy"].sum(),
            "sell_volume": grouped["sell"].sum(),
        }
    )
    total = result["buy_volume"] + result["sell_volume"]
    result["order_flow_imbalance"] = ((result["buy_volume"] - result["sell_volume"]) / total).where(total > 0)
    return result


def book_features(
    bid_prices: list[float], bid_amounts: list[float], ask_prices: list[float], ask_amounts: list[float]
) -> dict[str, float]:
    """Return the L2 features of one book snapshot, levels best first (int_book_features).

    spread_bps = (best_ask - best_bid) / mid * 10,000 with mid = (best_bid + best_ask) / 2;
    depth_imbalance_5 = (B - A) / (B + A), B and A the amounts of the best 5 bid and ask levels;
    microprice = (best_bid * best_ask_amount + best_ask * best_bid_amount) / (best_bid_amount + best_ask_amount).
    The features of a bar come from the last snapshot inside it.
    """
    if not bid_prices or not ask_prices:
        raise ValueError("a book snapshot needs at least one bid and one ask level")
    bid, ask = float(bid_prices[0]), float(ask_prices[0])
    bid_amount, ask_amount = float(bid_amounts[0]), float(ask_amounts[0])
    bid_depth, ask_depth = _ordered_sum(bid_amounts[:5]), _ordered_sum(ask_amounts[:5])
    nan = float("nan")
    return {
        "best_bid": bid,
        "best_ask": ask,
        "spread_bps": (ask - bid) / ((bid + ask) / 2) * 10_000,
        "depth_imbalance_5": (bid_depth - ask_depth) / (bid_depth + ask_depth) if bid_depth + ask_depth > 0 else nan,
        "microprice": (bid * ask_amount + ask * bid_amount) / (bid_amount + ask_amount)
        if bid_amount + ask_amount > 0
        else nan,
    }


def _ordered_sum(values: list[float]) -> float:
    total = 0.0
    for value in values:
        total += float(value)
    return total


def basis(derivative_close: float, spot_close: float) -> float:
    """Return the basis of a derivative (symbol BASE/QUOTE:SETTLE) over its spot BASE/QUOTE: close / spot - 1."""
    return derivative_close / spot_close - 1


def forward_labels(bars: pd.DataFrame, timeframe: str, horizons: tuple[int, ...]) -> pd.DataFrame:
    """Return the training-set labels of one series (training_set), indexed like `bars` (indexed by open time).

    For each horizon h: fwd_return_h = ln(close[t + h] / close[t]) with t + h the bar exactly h timeframes
    later, fwd_sign_h its sign, and label_end_h that bar's open time; all NaN / NaT while that bar is not there.
    """
    import numpy as np
    import pandas as pd

    step = pd.Timedelta(seconds=timeframe_seconds(timeframe))
    close = bars["close"].astype("float64")
    opens = pd.DatetimeIndex(bars.index)
    labels: dict[str, pd.Series] = {}
    for horizon in horizons:
        ahead_time = opens + pd.Timedelta(horizon * step)
        ahead = close.reindex(ahead_time).to_numpy()
        forward = pd.Series(np.log(ahead / close.to_numpy()), index=bars.index)
        labels[f"fwd_return_{horizon}"] = forward
        labels[f"fwd_sign_{horizon}"] = pd.Series(np.sign(forward.to_numpy()), index=bars.index)
        labels[f"label_end_{horizon}"] = pd.Series(ahead_time, index=bars.index).where(forward.notna())
    return pd.DataFrame(labels, index=bars.index)
