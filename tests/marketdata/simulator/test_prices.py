"""The price path: consistent OHLC at every timeframe, an exact 1-second path, regime statistics."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.marketdata.simulator.conftest import DAY, fetch
from traider.marketdata.records import Stream
from traider.marketdata.simulator import SimulatedMarket, SimulatorConfig, SimulatorSource

TIMEFRAMES = ["1s", "7s", "1m", "3m", "15m", "1h", "4h", "1d", "1w", "1M"]


def _assert_consistent(frame: pd.DataFrame) -> None:
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame[["open", "close"]].max(axis=1) <= frame["high"]).all()
    assert (frame["low"] > 0).all() and (frame["volume"] >= 0).all()


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    offset_minutes=st.integers(0, 3 * 1_440),
    timeframe=st.sampled_from(TIMEFRAMES[:6]),
    perpetual=st.booleans(),
)
def test_ohlcv_any_seed_and_timeframe_consistent_and_aligned(
    seed: int, offset_minutes: int, timeframe: str, perpetual: bool
) -> None:
    start = DAY + timedelta(minutes=offset_minutes)
    span = timedelta(minutes=3) if timeframe.endswith("s") else timedelta(hours=6)
    symbol = "BTC/USD:USD" if perpetual else "BTC/USD"
    frame = fetch(SimulatorSource(SimulatorConfig(seed=seed)), Stream.OHLCV, symbol, (start, start + span), timeframe)
    _assert_consistent(frame)
    length = pd.Timedelta(timeframe.replace("m", "min"))
    assert (frame["ts"] == frame["ts"].dt.floor(length)).all()
    assert frame["ts"].diff().dropna().eq(length).all()


def test_ohlcv_long_timeframes_aligned_to_utc_calendar(source: SimulatorSource) -> None:
    weeks = fetch(source, Stream.OHLCV, "SOL/USD", (DAY, DAY + timedelta(days=60)), "1w")
    months = fetch(source, Stream.OHLCV, "SOL/USD", (DAY, DAY + timedelta(days=60)), "1M")
    assert (weeks["ts"].dt.day_of_week == 0).all() and (weeks["ts"].dt.hour == 0).all()
    assert list(months["ts"].dt.strftime("%m-%d")) == ["03-01", "04-01"]
    _assert_consistent(weeks)
    _assert_consistent(months)


def test_ohlcv_coarse_bars_aggregate_the_fine_ones(source: SimulatorSource) -> None:
    hours = fetch(source, Stream.OHLCV, "BTC/USD", (DAY, DAY + timedelta(days=1)), "1h")
    minutes = fetch(source, Stream.OHLCV, "BTC/USD", (DAY, DAY + timedelta(days=1)), "1m")
    grouped = minutes.groupby(minutes["ts"].dt.floor("h"))
    assert np.allclose(hours["high"], grouped["high"].max()) and np.allclose(hours["low"], grouped["low"].min())
    assert np.allclose(hours["open"], grouped["open"].first()) and np.allclose(hours["close"], grouped["close"].last())
    assert np.allclose(hours["volume"], grouped["volume"].sum())


def test_second_path_aggregates_exactly_to_minute_bars() -> None:
    market = SimulatedMarket(SimulatorConfig(seed=7))
    seconds = market.second_path("ETH/USD", 100).copy()
    minutes = market.minute_path("ETH/USD", 100)
    grid = seconds[:-1].reshape(1_440, 60)
    assert np.array_equal(grid[:, 0], minutes.open) and np.array_equal(grid[:, -1], minutes.close)
    assert np.array_equal(grid.max(axis=1), minutes.high) and np.array_equal(grid.min(axis=1), minutes.low)
    assert seconds[-1] == minutes.next_open == market.minute_path("ETH/USD", 101).open[0]


def test_minute_path_regime_volatility_ordered_as_configured() -> None:
    market = SimulatedMarket(SimulatorConfig(seed=3))
    returns, regimes = [], []
    for day in range(400, 460):
        path = market.minute_path("BTC/USD", day)
        returns.append(np.diff(path.close))
        regimes.append(path.regimes[1:])
    by_regime = pd.Series(np.concatenate(returns)).groupby(np.concatenate(regimes)).std()
    calm, volatile = by_regime[0], by_regime[3]
    expected = 0.06 / 0.015  # configured volatility ratio of the default volatile and calm regimes
    assert volatile > 2.5 * calm
    assert 0.7 * expected < volatile / calm < 1.3 * expected


def test_minute_path_daily_returns_match_configured_scale() -> None:
    market = SimulatedMarket(SimulatorConfig(seed=11))
    opens = np.array([market.minute_path("BTC/USD", day).open[0] for day in range(0, 720)])
    daily = np.std(np.diff(opens))
    assert 0.02 < daily < 0.045  # stationary mix of the default regimes: about 3 % a day
