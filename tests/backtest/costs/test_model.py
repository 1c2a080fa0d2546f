"""The cost model: fees and slippage reported apart, market orders with impact and latency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traider.backtest.costs.fee_schedule import FeeSchedule, Liquidity, UnknownFeeScheduleError
from traider.backtest.costs.fills import Side
from traider.backtest.costs.impact import ImpactKind, ImpactModel
from traider.backtest.costs.latency import LatencyModel, asof_lookup
from traider.backtest.costs.model import CostModel
from traider.marketdata.records import BookSnapshot

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BOOK = BookSnapshot("binance", "BTC/USDT", T0, 1, ((99.0, 2.0), (98.0, 1.0)), ((100.0, 1.0), (101.0, 1.0)))
LATER = BookSnapshot("binance", "BTC/USDT", T0 + timedelta(seconds=1), 2, ((104.0, 1.0),), ((105.0, 1.0),))


@pytest.fixture(scope="module")
def schedule() -> FeeSchedule:
    return FeeSchedule.load()


def test_cost_model_cost_of_fill_reports_fee_and_slippage_apart(schedule: FeeSchedule) -> None:
    # binance spot VIP0 taker 0.1 %: sell 2 @ 98.8, mid 99.5 -> notional 197.6, fee 0.1976, slippage 1.4
    model = CostModel(schedule, "binance", "spot")
    cost = model.cost_of_fill(Side.SELL, 2.0, 98.8, 99.5, Liquidity.TAKER)
    assert cost.notional == pytest.approx(197.6)
    assert cost.fee == pytest.approx(0.1976)
    assert cost.slippage == pytest.approx(1.4)
    assert cost.total == pytest.approx(1.5976)


def test_cost_model_maker_fill_at_tier_uses_maker_rate(schedule: FeeSchedule) -> None:
    # binance perp VIP1 (>= 15 M) maker 0.016 %: buy 1 @ 100 -> fee 0.016; at the 100 limit vs mid 100.5 -> −0.5
    model = CostModel(schedule, "binance", "linear_perp", volume_30d_usd=20_000_000)
    cost = model.cost_of_fill("buy", 1.0, 100.0, 100.5, "maker")
    assert cost.fee == pytest.approx(0.016)
    assert cost.slippage == pytest.approx(-0.5)  # price improvement vs mid is a negative cost


def test_cost_model_market_order_walks_book_and_charges_taker_fee(schedule: FeeSchedule) -> None:
    # buy 1.5: avg 100.333…, notional 150.5; coinbase entry taker 1.2 % -> fee 1.806; slippage vs 99.5 = 1.25
    fill = CostModel(schedule, "coinbase").market_order(BOOK, "buy", 1.5)
    assert fill.avg_price == pytest.approx(150.5 / 1.5)
    assert fill.mid_price == 99.5
    assert (fill.filled_qty, fill.unfilled_qty, fill.impact) == (1.5, 0.0, 0.0)
    assert fill.cost.fee == pytest.approx(1.806)
    assert fill.cost.slippage == pytest.approx(1.25)


def test_cost_model_market_order_with_impact_adds_impact_to_slippage(schedule: FeeSchedule) -> None:
    # buy 1.5, linear impact 0.01 × (1.5 / 15) = 0.001 -> price 100.333… × 1.001 = 100.4337
    # impact = (100.4337 − 100.3333) × 1.5 = 0.1505; slippage = 1.25 + 0.1505 = 1.4005
    model = CostModel(schedule, "binance", impact=ImpactModel(ImpactKind.LINEAR, 0.01))
    fill = model.market_order(BOOK, Side.BUY, 1.5, reference_volume=15.0)
    assert fill.avg_price == pytest.approx(150.5 / 1.5 * 1.001)
    assert fill.impact == pytest.approx(0.1505)
    assert fill.cost.slippage == pytest.approx(1.4005)
    assert fill.cost.fee == pytest.approx(150.5 * 1.001 * 0.001)


def test_cost_model_market_order_thin_book_fills_partially_and_charges_filled_part(schedule: FeeSchedule) -> None:
    # sell 5 against 3.0 of bids: 2 @ 99 + 1 @ 98 = 296 -> fee 0.1 % = 0.296; slippage (99.5 − 98.667) × 3 = 2.5
    fill = CostModel(schedule, "binance").market_order(BOOK, "sell", 5.0)
    assert (fill.filled_qty, fill.unfilled_qty) == (3.0, 2.0)
    assert fill.cost.fee == pytest.approx(0.296)
    assert fill.cost.slippage == pytest.approx(2.5)


def test_cost_model_market_order_one_sided_book_raises_value_error(schedule: FeeSchedule) -> None:
    one_sided = BookSnapshot("binance", "BTC/USDT", T0, 1, ((99.0, 2.0),), ((100.0, 0.0),))
    with pytest.raises(ValueError, match="two-sided book"):
        CostModel(schedule, "binance").market_order(one_sided, "buy", 1.0)


def test_cost_model_market_order_zero_quantity_costs_nothing(schedule: FeeSchedule) -> None:
    fill = CostModel(schedule, "binance").market_order(BOOK, "buy", 0.0)
    assert (fill.avg_price, fill.filled_qty, fill.cost.fee, fill.cost.slippage) == (None, 0.0, 0.0, 0.0)


def test_cost_model_market_order_after_latency_uses_book_at_fill_time(schedule: FeeSchedule) -> None:
    # decided at T0 + 0.5 s, 600 ms latency -> fills at T0 + 1.1 s against LATER: 1 @ 105, mid 104.5
    model = CostModel(schedule, "binance", latency=LatencyModel(timedelta(milliseconds=600)))
    book_at = asof_lookup([BOOK.ts, LATER.ts], [BOOK, LATER])
    fill = model.market_order_after_latency(T0 + timedelta(milliseconds=500), book_at, "buy", 1.0)
    assert fill.fill_time == T0 + timedelta(milliseconds=1100)
    assert (fill.avg_price, fill.mid_price, fill.cost.slippage) == (105.0, 104.5, 0.5)


def test_cost_model_unknown_venue_fails_at_construction(schedule: FeeSchedule) -> None:
    with pytest.raises(UnknownFeeScheduleError, match="no fee schedule for venue 'mtgox'"):
        CostModel(schedule, "mtgox")


def test_cost_model_default_loads_shipped_schedule() -> None:
    assert float(CostModel().fee_rate("taker")) == pytest.approx(0.001)
