"""The perpetual: basis bridge, Binance-style funding whose sign follows the basis, mark and index."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.marketdata.simulator.conftest import DAY, fetch
from traider.marketdata.records import Stream
from traider.marketdata.simulator import SimulatedMarket, SimulatorConfig, SimulatorSource
from traider.marketdata.simulator.funding import funding_rate

CONFIG = SimulatorConfig()


@settings(max_examples=200, deadline=None)
@given(premium=st.floats(-0.05, 0.05))
def test_funding_rate_any_premium_bounded_and_signed_like_the_basis(premium: float) -> None:
    rate = float(funding_rate(np.array([premium]), CONFIG)[0])
    assert abs(rate) <= CONFIG.funding_cap
    if premium > 0:
        assert rate > 0
    if premium < -CONFIG.funding_clamp:
        assert rate < 0
    if abs(CONFIG.funding_interest - premium) <= CONFIG.funding_clamp:
        assert rate == CONFIG.funding_interest


def test_basis_days_join_at_midnight_and_stay_near_configured_scale() -> None:
    market = SimulatedMarket(SimulatorConfig(seed=6))
    days = [market.basis("BTC/USD:USD", day) for day in range(300, 340)]
    for today, tomorrow in pairwise(days):
        assert today[-1] == tomorrow[0]
    values = np.concatenate(days)
    assert 0.4 * CONFIG.basis_volatility < values.std() < 2.5 * CONFIG.basis_volatility


def test_funding_rates_follow_the_basis_over_a_quarter() -> None:
    source = SimulatorSource(SimulatorConfig(seed=3))
    frame = fetch(source, Stream.FUNDING_RATES, "BTC/USD:USD", (DAY, DAY + timedelta(days=90)))
    assert len(frame) == 90 * 3
    assert (frame["ts"].dt.hour.isin([0, 8, 16]) & (frame["ts"].dt.minute == 0)).all()
    market = source.market
    premiums = []
    for stamp in frame["ts"]:
        end = int(stamp.timestamp())
        day = market.day_of(end - 1)
        minute = (end - market.day_start(day)) // 60
        basis = market.basis("BTC/USD:USD", day)
        premiums.append(basis[minute - 480 : minute].mean())
    premium = np.array(premiums)
    rate = frame["rate"].to_numpy()
    assert (rate[premium > 0] > 0).all() and (rate[premium < -CONFIG.funding_clamp] < 0).all()
    assert (premium < -CONFIG.funding_clamp).any() and (premium > CONFIG.funding_clamp).any()
    assert np.corrcoef(premium, rate)[0, 1] > 0.8


def test_funding_mark_near_index_and_index_is_the_spot(source: SimulatorSource) -> None:
    funding = fetch(source, Stream.FUNDING_RATES, "ETH/USD:USD", (DAY, DAY + timedelta(days=2)))
    spot = fetch(source, Stream.OHLCV, "ETH/USD", (DAY, DAY + timedelta(days=2)), "1m").set_index("ts")
    assert np.allclose(funding["index_price"], spot.loc[funding["ts"], "open"], atol=0.051)
    assert (abs(funding["mark_price"] / funding["index_price"] - 1) < 0.01).all()


def test_perpetual_bars_track_spot_times_one_plus_basis(source: SimulatorSource) -> None:
    perp = fetch(source, Stream.OHLCV, "BTC/USD:USD", (DAY, DAY + timedelta(hours=4)), "1m")
    spot = fetch(source, Stream.OHLCV, "BTC/USD", (DAY, DAY + timedelta(hours=4)), "1m")
    ratio = perp["close"] / spot["close"] - 1
    assert (ratio.abs() < 0.01).all() and ratio.std() > 0
