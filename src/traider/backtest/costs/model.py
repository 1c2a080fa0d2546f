"""The one cost model shared by backtest, replay and live: fees and slippage, always reported apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from traider.backtest.costs.fee_schedule import FeeSchedule, Liquidity
from traider.backtest.costs.fills import FillResult, Side, fill_market_order, mid_price, slippage
from traider.backtest.costs.impact import ImpactModel
from traider.backtest.costs.latency import LatencyModel
from traider.marketdata.orderbook import OrderBook
from traider.marketdata.records import BookSnapshot

Book = BookSnapshot | OrderBook


@dataclass(frozen=True, slots=True)
class FillCost:
    """The costs of one fill in quote currency; positive is a cost, slippage < 0 is price improvement."""

    notional: float
    fee: float
    slippage: float

    @property
    def total(self) -> float:
        """Return fee + slippage."""
        return self.fee + self.slippage


@dataclass(frozen=True, slots=True)
class MarketFill:
    """A market order's execution: the book walk, the price after impact, and its costs.

    `slippage` (in `cost`) is measured from the mid at fill time and includes spread, depth and
    impact; `impact` is the part of it due to the impact model alone.
    """

    fill_time: datetime | None
    book_fill: FillResult
    avg_price: float | None
    mid_price: float
    impact: float
    cost: FillCost

    @property
    def filled_qty(self) -> float:
        """Return the filled quantity."""
        return self.book_fill.filled_qty

    @property
    def unfilled_qty(self) -> float:
        """Return what the book could not absorb."""
        return self.book_fill.unfilled_qty


@dataclass(frozen=True)
class CostModel:
    """Fee schedule, venue, market type and volume tier, impact and latency, with documented defaults."""

    fee_schedule: FeeSchedule = field(default_factory=FeeSchedule.load)
    venue: str = "binance"
    market_type: str = "spot"
    volume_30d_usd: float = 0.0
    impact: ImpactModel = field(default_factory=ImpactModel)
    latency: LatencyModel = field(default_factory=LatencyModel)

    def __post_init__(self) -> None:
        self.fee_schedule.tier(self.venue, self.market_type, self.volume_30d_usd)  # fail fast on bad config

    def fee_rate(self, liquidity: Liquidity | str) -> Decimal:
        """Return the fee rate (fraction of notional) for maker or taker fills at this model's tier."""
        return self.fee_schedule.rate(self.venue, self.market_type, liquidity, self.volume_30d_usd)

    def cost_of_fill(
        self,
        side: Side | str,
        quantity: float,
        price: float,
        reference_price: float,
        liquidity: Liquidity | str,
    ) -> FillCost:
        """Return the fee and the slippage (vs `reference_price`, e.g. the decision-time mid) of one fill."""
        notional = abs(quantity) * price
        fee = notional * float(self.fee_rate(liquidity))
        return FillCost(notional=notional, fee=fee, slippage=slippage(side, quantity, price, reference_price))

    def market_order(
        self,
        book: Book,
        side: Side | str,
        quantity: float,
        reference_volume: float | None = None,
    ) -> MarketFill:
        """Return a market order filled against `book`: book walk, then impact, taker fee; slippage vs mid."""
        mid = mid_price(book)
        if mid is None:
            raise ValueError("a market order needs a two-sided book to measure slippage from the mid")
        walked = fill_market_order(book, side, quantity)
        if walked.avg_price is None:
            return MarketFill(None, walked, None, mid, 0.0, FillCost(0.0, 0.0, 0.0))
        price = self.impact.apply(walked.avg_price, side, walked.filled_qty, reference_volume)
        impact = slippage(side, walked.filled_qty, price, walked.avg_price)
        cost = self.cost_of_fill(side, walked.filled_qty, price, mid, Liquidity.TAKER)
        return MarketFill(None, walked, price, mid, impact, cost)

    def market_order_after_latency(
        self,
        decision_time: datetime,
        book_at: Callable[[datetime], Book],
        side: Side | str,
        quantity: float,
        reference_volume: float | None = None,
    ) -> MarketFill:
        """Return a market order decided at `decision_time`, filled against the book at the fill time."""
        fill_time = self.latency.fill_time(decision_time)
        fill = self.market_order(book_at(fill_time), side, quantity, reference_volume)
        return MarketFill(fill_time, fill.book_fill, fill.avg_price, fill.mid_price, fill.impact, fill.cost)
