"""Trades: inside the touch, unique ids, sides from the move, volumes that add up to the bars'."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from tests.marketdata.simulator.conftest import DAY, fetch
from traider.marketdata.records import Stream
from traider.marketdata.simulator import SimulatedMarket, SimulatorConfig, SimulatorSource

WINDOW = (DAY - timedelta(minutes=5), DAY + timedelta(minutes=5))


def test_trades_prices_at_or_inside_the_touch_of_their_second() -> None:
    source = SimulatorSource(SimulatorConfig(seed=8, snapshot_seconds=1, spread_bps=6.0))
    trades = fetch(source, Stream.TRADES, "BTC/USD:USD", WINDOW)
    books = fetch(source, Stream.BOOK_SNAPSHOTS, "BTC/USD:USD", WINDOW).set_index("ts")
    touch = books.loc[trades["ts"].dt.floor("s")]
    best_bid = touch["bid_prices"].str[0].to_numpy()
    best_ask = touch["ask_prices"].str[0].to_numpy()
    assert (best_bid <= trades["price"].to_numpy()).all() and (trades["price"].to_numpy() <= best_ask).all()
    buys = (trades["side"] == "buy").to_numpy()
    inside = (trades["price"].to_numpy() > best_bid) & (trades["price"].to_numpy() < best_ask)
    assert (trades["price"].to_numpy()[buys & ~inside] == best_ask[buys & ~inside]).all()
    assert 0.03 < inside.mean() < 0.2


def test_trades_ids_unique_increasing_and_amounts_positive(source: SimulatorSource) -> None:
    trades = fetch(source, Stream.TRADES, "ETH/USD", WINDOW)
    ids = trades["trade_id"].astype("int64")
    assert ids.is_unique and ids.is_monotonic_increasing
    assert (trades["amount"] > 0).all() and set(trades["side"]) == {"buy", "sell"}


def test_trades_side_follows_the_next_move() -> None:
    market = SimulatedMarket(SimulatorConfig(seed=1))
    day_trades = market.trades("BTC/USD", 30)
    path = market.second_path("BTC/USD", 30)
    second = (day_trades.milliseconds - market.day_start(30) * 1000) // 1000
    move = path[second + 1] - path[second]
    assert (day_trades.buys[move > 0]).all() and not (day_trades.buys[move < 0]).any()


def test_trades_minute_sums_equal_bar_volume(source: SimulatorSource) -> None:
    trades = fetch(source, Stream.TRADES, "SOL/USD", WINDOW)
    bars = fetch(source, Stream.OHLCV, "SOL/USD", WINDOW, timeframe="1m").set_index("ts")
    summed = trades.groupby(trades["ts"].dt.floor("min"))["amount"].sum()
    volume = bars["volume"][bars["volume"] > 0]
    pd.testing.assert_index_equal(summed.index, volume.index)
    assert np.allclose(summed.to_numpy(), volume.to_numpy())


def test_trades_arrival_rate_near_configured() -> None:
    config = SimulatorConfig(seed=12)
    market = SimulatedMarket(config)
    counts = np.concatenate([market.activity("BTC/USD", day).counts for day in range(200, 216)])
    regimes = np.concatenate([market.minute_path("BTC/USD", day).regimes for day in range(200, 216)])
    multipliers = np.array([regime.trade_rate_multiplier for regime in config.regimes])
    expected = (config.trades_per_second * 60 * multipliers[regimes]).sum()
    assert abs(counts.sum() - expected) < 4 * np.sqrt(expected)
