"""The flash crash: -30 % within one minute, then a partial recovery, with consistent bars."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from tests.marketdata.simulator.conftest import DAY, fetch
from traider.marketdata.records import Stream
from traider.marketdata.simulator import FlashCrash, SimulatorConfig, SimulatorSource

CRASH_AT = DAY + timedelta(hours=13, seconds=25)


def _source() -> SimulatorSource:
    return SimulatorSource(SimulatorConfig(seed=21, flash_crash=FlashCrash(at=CRASH_AT)))


def test_flash_crash_reaches_minus_thirty_percent_within_one_minute() -> None:
    source = _source()
    bars = fetch(
        source, Stream.OHLCV, "BTC/USD", (CRASH_AT - timedelta(minutes=5), CRASH_AT + timedelta(hours=2)), "1s"
    )
    before = bars.loc[bars["ts"] < CRASH_AT, "close"].iloc[-1]
    first_minute = bars[(bars["ts"] >= CRASH_AT) & (bars["ts"] < CRASH_AT + timedelta(minutes=1))]
    assert first_minute["low"].min() / before <= 0.70 + 0.005
    settled = bars.loc[bars["ts"] >= CRASH_AT + timedelta(hours=1), "close"] / before
    assert (settled > 0.75).all() and (settled < 0.95).all()  # recovered half of the fall, give or take the drift


def test_flash_crash_minute_bars_consistent_and_perpetual_follows() -> None:
    source = _source()
    window = (CRASH_AT - timedelta(minutes=10), CRASH_AT + timedelta(minutes=40))
    spot = fetch(source, Stream.OHLCV, "BTC/USD", window, timeframe="1m")
    perp = fetch(source, Stream.OHLCV, "BTC/USD:USD", window, timeframe="1m")
    for frame in (spot, perp):
        assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
        assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    crash_minute = spot[spot["ts"] == CRASH_AT.replace(second=0)].iloc[0]
    assert crash_minute["low"] / crash_minute["open"] < 0.72
    assert np.allclose(perp["low"] / spot["low"], 1, atol=0.01)


def test_flash_crash_trades_and_books_stay_valid() -> None:
    source = _source()
    window = (CRASH_AT - timedelta(seconds=5), CRASH_AT + timedelta(seconds=90))
    trades = fetch(source, Stream.TRADES, "BTC/USD", window)
    books = fetch(source, Stream.BOOK_SNAPSHOTS, "BTC/USD", window)
    assert trades["price"].min() / trades["price"].max() < 0.72
    assert all(row["bid_prices"][0] < row["ask_prices"][0] for _, row in books.iterrows())
