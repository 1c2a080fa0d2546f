"""Queue position of resting limit orders: queue ahead first, then partial and full fills, cancels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.backtest.costs.fills import Side
from traider.backtest.costs.queue import QueuePosition, join_queue
from traider.marketdata.orderbook import OrderBook
from traider.marketdata.records import BookSnapshot, Trade

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BOOK = BookSnapshot("binance", "BTC/USDT", T0, 1, ((100.0, 3.0), (99.0, 5.0)), ((101.0, 2.0), (102.0, 4.0)))


def test_queue_position_trades_at_price_work_off_queue_then_fill() -> None:
    # buy 1.0 at 100 behind 3.0: a 2.0 sell leaves 1.0 ahead (fill 0); a 1.5 sell clears it and fills 0.5
    order = join_queue(BOOK, Side.BUY, 100.0, 1.0)
    assert order.queue_ahead == 3.0
    order, fill = order.on_trade(100.0, 2.0, "sell")
    assert (fill, order.queue_ahead) == (0.0, 1.0)
    order, fill = order.on_trade(100.0, 1.5, "sell")
    assert (fill, order.queue_ahead, order.filled_qty, order.remaining_qty) == (0.5, 0.0, 0.5, 0.5)
    # a further 2.0 fills the remaining 0.5 only
    order, fill = order.on_trade(100.0, 2.0, "sell")
    assert (fill, order.remaining_qty, order.is_active) == (0.5, 0.0, False)
    assert order.on_trade(100.0, 1.0, "sell") == (order, 0.0)


def test_queue_position_trade_through_price_also_works_off_queue_first() -> None:
    # sell 2.0 at 101 behind 2.0; a buy printing at 101.5 (through) for 3.0: 2.0 queue, 1.0 fill
    order, fill = join_queue(BOOK, "sell", 101.0, 2.0).on_trade(101.5, 3.0, "buy")
    assert (fill, order.queue_ahead, order.remaining_qty) == (1.0, 0.0, 1.0)


def test_queue_position_trades_that_cannot_reach_order_are_ignored() -> None:
    order = join_queue(BOOK, Side.BUY, 100.0, 1.0)
    assert order.on_trade(100.5, 10.0, "sell") == (order, 0.0)  # above a resting buy
    assert order.on_trade(100.0, 10.0, "buy") == (order, 0.0)  # a taker buy cannot hit a bid
    assert order.on_trade(99.0, 4.0, None)[1] == 1.0  # unknown taker side: price decides


def test_queue_position_new_level_has_no_queue_ahead() -> None:
    # a buy at 100.5 (inside the spread, no displayed amount) fills from the first trade
    order, fill = join_queue(BOOK, Side.BUY, 100.5, 1.0).on_record(
        Trade("binance", "BTC/USDT", "t1", T0, 100.5, 0.25, "sell")
    )
    assert (fill, order.filled_qty) == (0.25, 0.25)


def test_queue_position_level_shrinking_shortens_queue_ahead() -> None:
    # 3.0 ahead, level falls to 1.2 (cancels): at most 1.2 is ahead; a rise to 4.0 queues behind
    order = join_queue(BOOK, Side.BUY, 100.0, 1.0).on_level_update(1.2)
    assert order.queue_ahead == 1.2
    assert order.on_level_update(4.0).queue_ahead == 1.2


def test_queue_position_cancel_stops_further_fills_and_keeps_earlier_ones() -> None:
    order, _ = QueuePosition(Side.BUY, 100.0, 1.0, queue_ahead=0.0).on_trade(100.0, 0.4, "sell")
    cancelled = order.cancel()
    assert (cancelled.filled_qty, cancelled.remaining_qty, cancelled.is_active) == (0.4, 0.0, False)
    assert cancelled.on_trade(100.0, 5.0, "sell") == (cancelled, 0.0)


def test_join_queue_order_book_reads_displayed_amount() -> None:
    book = OrderBook()
    book.apply_snapshot(BOOK.bids, BOOK.asks)
    assert join_queue(book, "sell", 102.0, 1.0).queue_ahead == 4.0


def test_join_queue_marketable_price_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"a buy limit at 101\.0 crosses the best price 101\.0"):
        join_queue(BOOK, Side.BUY, 101.0, 1.0)


def test_queue_position_non_positive_quantity_raises_value_error() -> None:
    with pytest.raises(ValueError, match="order quantity must be > 0"):
        QueuePosition(Side.SELL, 101.0, 0.0, queue_ahead=0.0)


@given(
    st.floats(0.0, 100.0),
    st.floats(0.01, 100.0),
    st.lists(st.floats(0.0, 50.0), max_size=30),
)
def test_queue_position_fills_never_exceed_trades_beyond_queue_or_order(
    ahead: float, quantity: float, trades: list[float]
) -> None:
    order, total = QueuePosition(Side.BUY, 100.0, quantity, queue_ahead=ahead), 0.0
    for amount in trades:
        order, fill = order.on_trade(100.0, amount, "sell")
        total += fill
    assert total <= quantity * (1 + 1e-12)
    assert total == pytest.approx(min(quantity, max(sum(trades) - ahead, 0.0)), abs=1e-9)
