"""Costs of trading: fee schedules, market fills through the book, impact, latency, queue position, funding."""

from traider.backtest.costs.fee_schedule import FeeSchedule, FeeTier, Liquidity, UnknownFeeScheduleError
from traider.backtest.costs.fills import FillResult, Side, fill_market_order, mid_price, slippage, walk_book
from traider.backtest.costs.funding import funding_payment, funding_payments
from traider.backtest.costs.impact import ImpactKind, ImpactModel
from traider.backtest.costs.latency import LatencyModel, asof_lookup
from traider.backtest.costs.model import CostModel, FillCost, MarketFill
from traider.backtest.costs.queue import QueuePosition, join_queue

__all__ = [
    "CostModel",
    "FeeSchedule",
    "FeeTier",
    "FillCost",
    "FillResult",
    "ImpactKind",
    "ImpactModel",
    "LatencyModel",
    "Liquidity",
    "MarketFill",
    "QueuePosition",
    "Side",
    "UnknownFeeScheduleError",
    "asof_lookup",
    "fill_market_order",
    "funding_payment",
    "funding_payments",
    "join_queue",
    "mid_price",
    "slippage",
    "walk_book",
]
