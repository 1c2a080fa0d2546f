"""Market orders walking the book: hand-computed averages, partial fills, slippage, properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.backtest.costs.fills import (
    Side,
    fill_market_order,
    mid_price,
    slippage,
    spread_crossing_cost,
    walk_book,
)
from traider.marketdata.orderbook import OrderBook
from traider.marketdata.records import BookSnapshot

BIDS = ((99.0, 2.0), (98.0, 1.0))
ASKS = ((100.0, 1.0), (101.0, 1.0))
BOOK = BookSnapshot("binance", "BTC/USDT", datetime(2026, 1, 1, tzinfo=UTC), 1, BIDS, ASKS)


def test_walk_book_buy_through_two_levels_averages_prices() -> None:
    # 1.0 @ 100 + 0.5 @ 101 = 150.5 for 1.5 -> avg 100.333…; mid (99 + 100) / 2 = 99.5
    # slippage vs mid = (100.333… − 99.5) × 1.5 = 1.25
    result = fill_market_order(BOOK, Side.BUY, 1.5)
    assert result.filled_qty == 1.5
    assert result.avg_price == pytest.approx(150.5 / 1.5)
    assert result.levels_consumed == 2
    assert result.unfilled_qty == 0.0
    assert slippage(Side.BUY, 1.5, 150.5 / 1.5, 99.5) == pytest.approx(1.25)


def test_walk_book_sell_walks_bids_descending() -> None:
    # 2.0 @ 99 + 0.5 @ 98 = 247 for 2.5 -> avg 98.8; slippage vs mid 99.5 = (99.5 − 98.8) × 2.5 = 1.75
    result = fill_market_order(BOOK, "sell", 2.5)
    assert result.avg_price == pytest.approx(98.8)
    assert result.levels_consumed == 2
    assert slippage("sell", 2.5, 98.8, 99.5) == pytest.approx(1.75)


def test_walk_book_within_best_level_fills_at_best_price() -> None:
    result = walk_book(ASKS, 0.4)
    assert (result.filled_qty, result.avg_price, result.levels_consumed, result.unfilled_qty) == (0.4, 100.0, 1, 0.0)


def test_walk_book_thin_book_fills_partially() -> None:
    # asks hold 2.0 in all: buy 3.0 -> 2.0 filled at (100 + 101) / 2 = 100.5, 1.0 unfilled
    result = walk_book(ASKS, 3.0)
    assert result.filled_qty == 2.0
    assert result.avg_price == pytest.approx(100.5)
    assert result.unfilled_qty == 1.0
    assert result.is_partial
    assert result.notional == pytest.approx(201.0)


def test_walk_book_empty_book_fills_nothing() -> None:
    result = walk_book([], 1.0)
    assert (result.filled_qty, result.avg_price, result.levels_consumed, result.unfilled_qty) == (0.0, None, 0, 1.0)
    assert result.notional == 0.0


def test_walk_book_zero_amount_levels_are_skipped() -> None:
    # the empty 100 level is ignored: 1.0 @ 101
    result = walk_book([(100.0, 0.0), (101.0, 1.0)], 1.0)
    assert (result.avg_price, result.levels_consumed) == (101.0, 1)


@pytest.mark.parametrize("quantity", [-1.0, float("nan")])
def test_walk_book_invalid_quantity_raises_value_error(quantity: float) -> None:
    with pytest.raises(ValueError, match="order quantity must be >= 0"):
        walk_book(ASKS, quantity)


def test_fill_market_order_order_book_matches_snapshot() -> None:
    book = OrderBook()
    book.apply_snapshot(BIDS, ASKS)
    assert fill_market_order(book, Side.BUY, 1.5) == fill_market_order(BOOK, Side.BUY, 1.5)
    assert mid_price(book) == mid_price(BOOK) == 99.5


def test_spread_crossing_cost_half_spread_times_quantity() -> None:
    # spread 100 − 99 = 1 -> half spread 0.5 × 2 = 1.0
    assert spread_crossing_cost(BOOK, 2.0) == 1.0


def test_spread_crossing_cost_one_sided_book_raises_value_error() -> None:
    with pytest.raises(ValueError, match="empty side"):
        spread_crossing_cost(OrderBook(), 1.0)
    assert mid_price(OrderBook()) is None


levels_strategy = st.lists(st.tuples(st.floats(1.0, 1e6), st.floats(1e-6, 1e3)), max_size=20).map(sorted)
quantity_strategy = st.floats(0.0, 5e3)


@given(levels_strategy, quantity_strategy, quantity_strategy)
def test_walk_book_more_quantity_never_lowers_buy_average(
    levels: list[tuple[float, float]], first: float, second: float
) -> None:
    small, large = sorted((first, second))
    small_avg, large_avg = walk_book(levels, small).avg_price, walk_book(levels, large).avg_price
    if small_avg is not None and large_avg is not None:
        assert large_avg >= small_avg * (1 - 1e-12)


@given(levels_strategy, quantity_strategy)
def test_walk_book_filled_plus_unfilled_equals_requested(levels: list[tuple[float, float]], quantity: float) -> None:
    result = walk_book(levels, quantity)
    assert result.filled_qty + result.unfilled_qty == pytest.approx(quantity, rel=1e-12, abs=1e-12)
    assert result.filled_qty <= sum(amount for _, amount in levels) * (1 + 1e-12)
    if result.avg_price is not None:
        assert levels[0][0] <= result.avg_price * (1 + 1e-12)
        assert result.avg_price <= levels[-1][0] * (1 + 1e-12)


def test_walk_book_subnormal_quantity_fills_at_the_level_price() -> None:
    """Found by hypothesis: 1.5 × 5e-324 rounds to 1e-323, which made the average price 2.0."""
    assert walk_book([(1.5, 1.0)], 5e-324).avg_price == 1.5
