"""The L2 book: never crossed, on the tick grid, positive amounts, deltas that rebuild the snapshots."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.marketdata.simulator.conftest import DAY, fetch
from traider.marketdata.records import Stream
from traider.marketdata.simulator import SimulatorConfig, SimulatorSource
from traider.marketdata.simulator.book import touch


@settings(max_examples=50, deadline=None)
@given(
    mids=st.lists(st.floats(-5.0, 15.0), min_size=1, max_size=50),
    tick=st.sampled_from([1e-4, 0.01, 0.1, 1.0, 5.0]),
    spread_bps=st.floats(0.01, 100.0),
)
def test_touch_any_mid_never_crossed(mids: list[float], tick: float, spread_bps: float) -> None:
    log_mid = np.array(mids)
    bid, ask = touch(log_mid, tick, spread_bps)
    assert (bid < ask).all()
    assert (bid * tick <= np.exp(log_mid) * (1 + 1e-12)).all() and (ask * tick >= np.exp(log_mid) * (1 - 1e-12)).all()


def _book(row: pd.Series) -> dict[tuple[str, float], float]:
    levels = {("bid", price): amount for price, amount in zip(row["bid_prices"], row["bid_amounts"], strict=True)}
    levels.update({("ask", price): amount for price, amount in zip(row["ask_prices"], row["ask_amounts"], strict=True)})
    return levels


def test_book_snapshots_never_crossed_sorted_positive() -> None:
    config = SimulatorConfig(seed=4, snapshot_seconds=5)
    frame = fetch(SimulatorSource(config), Stream.BOOK_SNAPSHOTS, "BTC/USD:USD", (DAY, DAY + timedelta(hours=2)))
    assert len(frame) == 2 * 3_600 // 5
    for _, row in frame.iterrows():
        bids, asks = np.array(row["bid_prices"]), np.array(row["ask_prices"])
        assert len(bids) == len(asks) == config.book_levels
        assert bids[0] < asks[0]
        assert (np.diff(bids) < 0).all() and (np.diff(asks) > 0).all()
        assert (np.array(row["bid_amounts"]) > 0).all() and (np.array(row["ask_amounts"]) > 0).all()
        assert np.allclose(bids, np.round(bids)) and np.allclose(asks, np.round(asks))  # BTC's tick is 1


def test_book_deltas_applied_to_snapshot_reproduce_next_snapshot() -> None:
    source = SimulatorSource(SimulatorConfig(seed=2, snapshot_seconds=30))
    start, end = DAY - timedelta(minutes=2), DAY + timedelta(minutes=2)  # across a midnight
    snapshots = fetch(source, Stream.BOOK_SNAPSHOTS, "ETH/USD", (start, end))
    deltas = fetch(source, Stream.BOOK_DELTAS, "ETH/USD", (start, end))
    assert deltas["sequence"].is_monotonic_increasing and (deltas["amount"] >= 0).all()
    for (_, before), (_, after) in zip(snapshots.iloc[:-1].iterrows(), snapshots.iloc[1:].iterrows(), strict=True):
        book = _book(before)
        changes = deltas[(deltas["sequence"] > before["sequence"]) & (deltas["sequence"] <= after["sequence"])]
        assert len(changes) > 0
        for side, price, amount in zip(changes["side"], changes["price"], changes["amount"], strict=True):
            if amount == 0:
                del book[(side, price)]
            else:
                book[(side, price)] = amount
        assert book == _book(after)
