from __future__ import annotations

from datetime import timedelta

import pytest

from traider.backtest.costs.fills import Side
from traider.backtest.costs.latency import LatencyModel
from traider.backtest.costs.model import CostModel
from traider.backtest.vectorised import BarCosts
from traider.execution.broker import PaperBroker
from traider.execution.orders import Order
from traider.marketdata.orderbook import OrderBook


def _order(side: Side, quantity: float) -> Order:
    return Order("run-BTC-1", "BTC/USD", side, quantity, 1, 1.0)


def test_bar_fill_pays_slippage_and_taker_fee_at_the_reference_price() -> None:
    fill = PaperBroker(BarCosts(fee_rate=0.001, slippage_bps=10.0)).execute(_order(Side.SELL, 2.0), 100.0, 5)
    assert fill is not None
    assert fill.price == pytest.approx(99.9)
    assert fill.fee == pytest.approx(2.0 * 99.9 * 0.001)
    assert fill.slippage == pytest.approx(2.0 * 100.0 * 0.001)
    assert (fill.fill_id, fill.ts) == ("run-BTC-1-1", 5)


def test_book_fill_walks_the_levels_and_fills_partially_when_the_book_is_thin() -> None:
    book = OrderBook()
    book.apply_snapshot([(99.0, 1.0)], [(101.0, 1.0), (102.0, 0.5)])
    model = CostModel(venue="binance", latency=LatencyModel(timedelta(0)))
    fill = PaperBroker(BarCosts(fee_rate=0.0), model).execute(_order(Side.BUY, 2.0), 100.0, 7, book)
    assert fill is not None
    assert fill.quantity == 1.5
    assert fill.price == pytest.approx((101.0 + 0.5 * 102.0) / 1.5)
    assert fill.slippage == pytest.approx((fill.price - 100.0) * 1.5)  # against the mid, 100
    assert fill.fee == pytest.approx(1.5 * fill.price * float(model.fee_rate("taker")))


def test_book_fill_on_an_empty_side_fills_nothing() -> None:
    book = OrderBook()
    book.apply_snapshot([(99.0, 1.0)], [])
    broker = PaperBroker(BarCosts(fee_rate=0.0), CostModel())
    with pytest.raises(ValueError, match="two-sided"):
        broker.execute(_order(Side.BUY, 1.0), 100.0, 1, book)
