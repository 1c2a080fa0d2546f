"""Brokers: where orders become fills. The paper broker uses the backtester's cost model, so paper trading,
the event-driven backtest and the vectorised engine charge the same fees and slippage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from traider.backtest.costs.fills import Side
from traider.execution.orders import Fill, Order

if TYPE_CHECKING:
    from traider.backtest.costs.model import Book, CostModel
    from traider.backtest.vectorised import BarCosts


class Broker(Protocol):
    """Fills market orders; returns None when nothing could be filled."""

    def execute(self, order: Order, reference_price: float, ts: int, book: Book | None = None) -> Fill | None:
        """Execute `order` at time `ts` against the market: a reference price, and the L2 book when known."""
        ...


class PaperBroker:
    """Simulated fills: against the L2 book when there is one (book walk, impact, taker fee, partial fills,
    the rest cancelled), else at the reference price moved by the bar slippage, with the taker fee.
    """

    def __init__(self, costs: BarCosts, cost_model: CostModel | None = None) -> None:
        self.costs = costs
        self.cost_model = cost_model

    def execute(self, order: Order, reference_price: float, ts: int, book: Book | None = None) -> Fill | None:
        """Fill `order` now; a fill takes the id `<client order id>-1` (one fill per paper order)."""
        if book is not None and self.cost_model is not None:
            return self._against_book(order, ts, book)
        slip = self.costs.slippage_bps / 10_000.0
        price = reference_price * (1.0 + slip) if order.side is Side.BUY else reference_price * (1.0 - slip)
        quantity = order.quantity
        return Fill(
            client_order_id=order.client_order_id,
            fill_id=f"{order.client_order_id}-1",
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=quantity * price * self.costs.fee_rate,
            slippage=quantity * reference_price * slip,
            liquidity="taker",
            ts=ts,
        )

    def _against_book(self, order: Order, ts: int, book: Book) -> Fill | None:
        assert self.cost_model is not None
        market = self.cost_model.market_order(book, order.side, order.quantity)
        if market.avg_price is None or market.filled_qty <= 0.0:
            return None
        return Fill(
            client_order_id=order.client_order_id,
            fill_id=f"{order.client_order_id}-1",
            symbol=order.symbol,
            side=order.side,
            quantity=market.filled_qty,
            price=market.avg_price,
            fee=market.cost.fee,
            slippage=market.cost.slippage,
            liquidity="taker",
            ts=ts,
        )
