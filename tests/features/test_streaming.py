"""The streaming bar features against their reference, `online.bar_features`, on the shared real data.

`StreamingBarFeatures.update(bar)` must give, for every bar, the last row `bar_features` gives for the same
history: to 1e-9 (|a - b| <= 1e-9 * max(1, |b|)) with the same missing values, over whole real series.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.features.market import (
    UNITTEST_1M,
    UNITTEST_5M,
    XRP_ETH_5M,
    XRP_PERP_5M,
    XRP_PERP_WINDOWS,
    passed_rows,
    read_rows,
)
from traider.features import online
from traider.features.streaming import StreamingBarFeatures
from traider.strategies.base import BAR_COLUMNS, Bar

TOLERANCE = 1e-9
BTC_USDT_5M = Path("freqtrade/tests/testdata/orderflow/candles.json")  # BTC/USDT 5m, 10,999 bars, 2023-01/02


def real_bars(shared_data: Path, name: str) -> pd.DataFrame:
    """Return one real series' bars (columns ts, open, high, low, close, volume) in time order."""
    if name == "BTC/USDT 5m":
        frame = pd.read_json(shared_data / BTC_USDT_5M).rename(columns={"date": "ts"})
        return frame.sort_values("ts").reset_index(drop=True)
    if name == "XRP/USDT:USDT 1h":  # resampled from the 5m bars of the windows the gate passes: a two-day hole
        return online.resample_bars(passed_rows(read_rows(shared_data, XRP_PERP_5M), XRP_PERP_WINDOWS), "1h")
    relative = {"UNITTEST/BTC 1m": UNITTEST_1M, "UNITTEST/BTC 5m": UNITTEST_5M, "XRP/USDT:USDT 5m": XRP_PERP_5M,
                "XRP/ETH 5m": XRP_ETH_5M}[name]  # fmt: skip
    return read_rows(shared_data, relative)


def as_bars(frame: pd.DataFrame) -> list[Bar]:
    """Return the frame's rows as the worker's `Bar`s."""
    stamps = pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8.tolist()
    rows = frame[list(BAR_COLUMNS)].itertuples(index=False)
    return [Bar(ts, *row) for ts, row in zip(stamps, rows, strict=True)]


def streamed(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the features `StreamingBarFeatures` gives bar by bar, one row per bar."""
    stream = StreamingBarFeatures()
    return pd.DataFrame([stream.update(bar) for bar in as_bars(frame)], index=frame.index)


def largest_errors(ours: pd.DataFrame, reference: pd.DataFrame) -> dict[str, float]:
    """Assert the same missing values per feature; return each feature's largest |a - b| / max(1, |b|)."""
    errors = {}
    for column in online.BAR_FEATURES:
        left, right = ours[column].to_numpy(dtype="float64"), reference[column].to_numpy(dtype="float64")
        assert (np.isnan(left) == np.isnan(right)).all(), f"{column}: missing values differ"
        known = ~np.isnan(right)
        error = np.abs(left[known] - right[known]) / np.maximum(1.0, np.abs(right[known]))
        errors[column] = float(error.max(initial=0.0))
    return errors


SERIES = ["BTC/USDT 5m", "UNITTEST/BTC 1m", "UNITTEST/BTC 5m", "XRP/USDT:USDT 5m", "XRP/USDT:USDT 1h", "XRP/ETH 5m"]


@pytest.mark.parametrize("name", SERIES)
def test_streamed_features_equal_bar_features_over_real_series(shared_data: Path, name: str) -> None:
    bars = real_bars(shared_data, name)
    assert len(bars) > 100
    ours = streamed(bars)
    errors = largest_errors(ours, online.bar_features(bars))
    assert max(errors.values()) <= TOLERANCE, errors
    for column, first in online.FIRST_BAR_INDEX.items():  # hidden during the warm-up, known after it
        assert ours[column].iloc[:first].isna().all() and ours[column].iloc[first:].notna().all(), column


def test_each_streamed_row_is_the_last_row_of_its_history(shared_data: Path) -> None:
    bars = real_bars(shared_data, "BTC/USDT 5m").iloc[:700]
    rows = streamed(bars)
    for end in (1, 2, 15, 20, 25, 34, 50, 333, 700):
        last = online.bar_features(bars.iloc[:end]).iloc[[-1]]
        assert max(largest_errors(rows.iloc[[end - 1]], last).values()) <= TOLERANCE, end


def test_flat_prices_give_the_undefined_features_as_missing(shared_data: Path) -> None:
    """Real bars held flat up to bar 40 and over bars 99-129: zero denominators make NaN, not errors."""
    bars = real_bars(shared_data, "UNITTEST/BTC 5m").iloc[:200].copy()
    prices = ["open", "high", "low", "close"]
    bars.loc[:39, prices] = bars["close"].iloc[40]
    bars.loc[100:129, prices] = bars["close"].iloc[99]
    ours = streamed(bars)
    assert max(largest_errors(ours, online.bar_features(bars)).values()) <= TOLERANCE
    assert ours["rsi_14"].iloc[:41].isna().all() and ours["rsi_14"].iloc[41:].notna().all()  # G + L = 0, then not
    pctb = ours["bollinger_pctb_20"]
    assert pctb.iloc[:41].isna().all() and pctb.iloc[118:130].isna().all()  # σ20 = 0
    assert pctb.iloc[41:118].notna().all() and pctb.iloc[130:].notna().all()
    assert (ours["realised_vol_24"].iloc[24:41] == 0.0).all() and (ours["atr_14"].iloc[14:40] == 0.0).all()


def test_window_deviation_is_exact_where_pandas_rolling_drifts(shared_data: Path) -> None:
    """σ20 of real BTC/USDT closes from the window (exact to rounding), not pandas' drifting running sums."""
    close = real_bars(shared_data, "BTC/USDT 5m")["close"].to_numpy(dtype="float64")
    window = online.BOLLINGER_WINDOW
    errors = []
    for end in range(9_400, 9_800):
        values = close[end - window : end].tolist()
        exact_values = [Fraction(value) for value in values]
        mean = sum(exact_values, Fraction(0)) / window
        exact = math.sqrt(float(sum(((value - mean) ** 2 for value in exact_values), Fraction(0)) / window))
        errors.append(abs(online.population_std(values) - exact) / exact)
    assert max(errors) <= 1e-15
    drift = pd.Series(close).rolling(window).std(ddof=0).to_numpy()[window - 1 :]
    stable = np.array(
        [online.population_std(close[end - window : end].tolist()) for end in range(window, len(close) + 1)]
    )
    assert np.max(np.abs(drift - stable) / stable) < 1e-7  # same statistic; pandas only loses digits


def test_an_update_takes_microseconds(shared_data: Path) -> None:
    bars = as_bars(real_bars(shared_data, "UNITTEST/BTC 1m"))
    stream = StreamingBarFeatures()
    spent = []
    for bar in bars:
        start = time.perf_counter_ns()
        stream.update(bar)
        spent.append(time.perf_counter_ns() - start)
    assert stream.bar_index == len(bars) - 1
    assert np.median(spent) < 100_000, f"median update {np.median(spent) / 1000:.1f} µs"
