"""A simple queue-position model for resting limit orders on an L2 book (price-time priority).

The order joins the back of the queue at its price: the queue ahead is the amount displayed at that
level when it is placed. A trade that reaches the order's price (at it, or through it) first works off
the queue ahead, and only what is left of the trade fills the order — partially if the trade is small.
The same conservative rule holds for trades through the price, although the venue would have filled
the order first. A fall of the displayed amount (cancels) shortens the queue ahead to at most that
amount; a rise (orders joining) queues behind. States are immutable: each event returns a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from traider.backtest.costs.fills import Side, book_side
from traider.marketdata.orderbook import OrderBook
from traider.marketdata.records import BookSnapshot, Trade


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """A resting limit order: what is ahead of it at its price, and what has filled so far."""

    side: Side
    price: float
    quantity: float
    queue_ahead: float
    filled_qty: float = 0.0
    cancelled: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))
        if not self.quantity > 0:
            raise ValueError(f"order quantity must be > 0, not {self.quantity}")
        if not self.queue_ahead >= 0:
            raise ValueError(f"queue ahead must be >= 0, not {self.queue_ahead}")

    @property
    def remaining_qty(self) -> float:
        """Return what is still resting (0 once filled or cancelled)."""
        return 0.0 if self.cancelled else self.quantity - self.filled_qty

    @property
    def is_active(self) -> bool:
        """Return whether the order still rests in the book."""
        return self.remaining_qty > 0

    def reaches(self, trade_price: float, taker_side: str | None = None) -> bool:
        """Return whether a trade at `trade_price` (by a taker on `taker_side`) can reach this order.

        A resting buy is hit by sells at or below its price, a resting sell lifted by buys at or above.
        """
        if taker_side is not None and Side(taker_side) is self.side:
            return False
        return trade_price <= self.price if self.side is Side.BUY else trade_price >= self.price

    def on_trade(self, trade_price: float, amount: float, taker_side: str | None = None) -> tuple[QueuePosition, float]:
        """Return the state after a public trade and the quantity of this order it filled."""
        if not self.is_active or not self.reaches(trade_price, taker_side):
            return self, 0.0
        through_queue = min(self.queue_ahead, amount)
        fill = min(self.remaining_qty, amount - through_queue)
        state = replace(self, queue_ahead=self.queue_ahead - through_queue, filled_qty=self.filled_qty + fill)
        return state, fill

    def on_record(self, trade: Trade) -> tuple[QueuePosition, float]:
        """Return the state after a `Trade` record and the quantity of this order it filled."""
        return self.on_trade(trade.price, trade.amount, trade.side)

    def on_level_update(self, displayed_amount: float) -> QueuePosition:
        """Return the state after the amount displayed at the order's price changed (others' orders only)."""
        if not self.is_active or displayed_amount >= self.queue_ahead:
            return self
        return replace(self, queue_ahead=max(displayed_amount, 0.0))

    def cancel(self) -> QueuePosition:
        """Return the state after a cancel: nothing rests any more; earlier fills stand."""
        return replace(self, cancelled=True)


def join_queue(book: BookSnapshot | OrderBook, side: Side | str, price: float, quantity: float) -> QueuePosition:
    """Return a limit order placed at the back of the queue at `price` on the book's `side` (bids for a buy)."""
    side = Side(side)
    opposite = book_side(book, side)  # the levels a marketable order of this side would take
    if opposite and side.sign * (price - opposite[0][0]) >= 0:
        raise ValueError(f"a {side.value} limit at {price} crosses the best price {opposite[0][0]}: fill it as a taker")
    if isinstance(book, OrderBook):
        ahead = book.amount("bid" if side is Side.BUY else "ask", price)
    else:
        levels = book.bids if side is Side.BUY else book.asks
        ahead = sum(amount for level_price, amount in levels if level_price == price)
    return QueuePosition(side=side, price=price, quantity=quantity, queue_ahead=ahead)
