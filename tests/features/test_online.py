"""The pandas twin of the feature models on its own: the EMA recursion, warm-ups, resampling, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.features import online

PRICES = st.lists(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False), min_size=1, max_size=200)
WARM_UP = {  # first bar_index with a value
    "log_return": 1, "realised_vol_24": 24, "rsi_14": 14, "macd_line": 25, "macd_signal": 33, "macd_hist": 33,
    "bollinger_pctb_20": 19, "atr_14": 14, "ema_ratio_12": 11, "ema_ratio_26": 25, "ema_ratio_50": 49,
}  # fmt: skip


@given(values=PRICES, span=st.integers(min_value=1, max_value=60))
def test_ema_is_the_seeded_recursion_bit_for_bit(values: list[float], span: int) -> None:
    alpha = online.span_alpha(span)
    state = values[0]
    expected = [state]
    for value in values[1:]:
        state = state if value == state else (1 - alpha) * state + alpha * value
        expected.append(state)
    assert online.ema(pd.Series(values), alpha).tolist() == expected


@given(values=PRICES, span=st.integers(min_value=1, max_value=60))
def test_ema_agrees_with_pandas_ewm_up_to_rounding(values: list[float], span: int) -> None:
    series = pd.Series(values)
    pandas = series.ewm(span=span, adjust=False).mean()
    assert np.allclose(online.ema(series, online.span_alpha(span)), pandas, rtol=1e-12, atol=0.0)


def test_ema_skips_missing_values() -> None:
    result = online.ema(pd.Series([math.nan, 2.0, math.nan, 4.0]), 0.5)
    assert result.tolist()[1:] == [2.0, 2.0, 3.0]
    assert math.isnan(result.iloc[0])


def test_bar_features_hide_the_warm_up_and_nothing_else() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 80)))
    bars = pd.DataFrame({"high": close * 1.01, "low": close * 0.99, "close": close})
    features = online.bar_features(bars)
    assert features["bar_index"].tolist() == list(range(80))
    for column, first in WARM_UP.items():
        known = features[column].notna().to_numpy()
        assert not known[:first].any() and known[first:].all(), column
    assert features["rsi_14"].dropna().between(0, 100).all()
    assert (features["macd_hist"] == features["macd_line"] - features["macd_signal"]).iloc[33:].all()


def test_resample_keeps_only_complete_buckets() -> None:
    ts = pd.date_range("2024-01-01 00:00", periods=23, freq="5min", tz="UTC")  # 12 bars, then 11
    bars = pd.DataFrame(
        {"ts": ts, "timeframe": "5m", "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 1.0}
    )
    hours = online.resample_bars(bars, "1h")
    assert hours["ts"].tolist() == [pd.Timestamp("2024-01-01 00:00", tz="UTC")]
    assert hours[["sub_bars", "volume"]].iloc[0].tolist() == [12, 12.0]
    assert hours["available_at"].iloc[0] == pd.Timestamp("2024-01-01 01:00", tz="UTC")


@pytest.mark.parametrize(
    ("timeframe", "message"),
    [
        ("7m", "does not divide one day"),
        ("1w", "is not like 5m, 1h or 1d"),
        ("0h", "is not like"),
        ("h", "is not like"),
    ],
)
def test_bad_timeframes_raise_one_line(timeframe: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        online.timeframe_seconds(timeframe)


def test_resample_refuses_a_source_timeframe_that_does_not_divide_the_target() -> None:
    ts = pd.date_range("2024-01-01", periods=3, freq="7min", tz="UTC")
    bars = pd.DataFrame({"ts": ts, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0})
    with pytest.raises(ValueError, match="bars of 420 s cannot be resampled to 1h"):
        online.resample_bars(bars, "1h")


def test_book_features_need_both_sides() -> None:
    with pytest.raises(ValueError, match="at least one bid and one ask level"):
        online.book_features([], [], [101.0], [1.0])
    features = online.book_features([99.0], [1.0], [101.0], [3.0])
    assert features["spread_bps"] == 200.0 and features["depth_imbalance_5"] == -0.5 and features["microprice"] == 99.5


def test_funding_features_need_their_history() -> None:
    settlements = pd.DataFrame(
        {
            "settled_at": pd.date_range("2024-01-01", periods=31, freq="8h", tz="UTC"),
            "rate": np.linspace(-1e-4, 2e-4, 31),
        }
    )
    features = online.funding_features(settlements)
    assert features["funding_drift_3"].notna().tolist() == [False, False] + [True] * 29
    assert features["funding_rate_zscore_30"].notna().tolist() == [False] * 29 + [True, True]
    assert online.basis(101.0, 100.0) == pytest.approx(0.01)
