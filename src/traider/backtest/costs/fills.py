"""Market orders against an L2 book: walk the levels, partial fills, and slippage relative to the mid.

Prices are quote per base unit and quantities base units, float64 throughout. Slippage is signed so
that a positive number is a cost: (avg_price − reference) × qty for a buy, (reference − avg_price) × qty
for a sell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from traider.marketdata.orderbook import OrderBook
from traider.marketdata.records import BookSnapshot

Level = tuple[float, float]


class Side(StrEnum):
    """The side of an order: a buy takes asks, a sell takes bids."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> float:
        """Return +1 for a buy and −1 for a sell."""
        return 1.0 if self is Side.BUY else -1.0


@dataclass(frozen=True, slots=True)
class FillResult:
    """What a market order got from the book; `avg_price` is None when nothing filled.

    `levels_consumed` counts the levels the order took from, the last one possibly only in part.
    """

    filled_qty: float
    avg_price: float | None
    levels_consumed: int
    unfilled_qty: float

    @property
    def notional(self) -> float:
        """Return filled quantity × average price (0 when nothing filled)."""
        return 0.0 if self.avg_price is None else self.filled_qty * self.avg_price

    @property
    def is_partial(self) -> bool:
        """Return whether part of the order was left unfilled by a too thin book."""
        return self.unfilled_qty > 0


def walk_book(levels: Sequence[Level], quantity: float) -> FillResult:
    """Fill `quantity` against (price, amount) levels given best first, taking each level in turn.

    Pass the asks (ascending) for a buy and the bids (descending) for a sell, as `BookSnapshot` holds
    them. Levels with no amount are skipped; what the book cannot absorb is returned as `unfilled_qty`.
    """
    if not quantity >= 0:  # also rejects NaN
        raise ValueError(f"order quantity must be >= 0, not {quantity}")
    book = np.asarray(levels, dtype=np.float64).reshape(-1, 2)
    book = book[book[:, 1] > 0]
    prices, amounts = book[:, 0], book[:, 1]
    before = np.cumsum(amounts) - amounts  # quantity the better levels absorb before each level
    taken = np.clip(quantity - before, 0.0, amounts)
    available = float(amounts.sum())
    filled = quantity if quantity <= available else available
    if filled <= 0:
        return FillResult(0.0, None, 0, quantity)
    weights = taken / taken.sum()  # normalise first: price × a subnormal quantity would round (e.g. 1.5 × 5e-324)
    avg_price = float(np.dot(weights, prices))
    return FillResult(filled, avg_price, int(np.count_nonzero(taken)), quantity - filled)


def book_side(book: BookSnapshot | OrderBook, side: Side | str) -> list[Level]:
    """Return the levels a market order of `side` takes, best first (asks for a buy, bids for a sell)."""
    if isinstance(book, OrderBook):
        bid_depth, ask_depth = book.depth()
        return book.asks(ask_depth) if Side(side) is Side.BUY else book.bids(bid_depth)
    return [level for level in (book.asks if Side(side) is Side.BUY else book.bids) if level[1] > 0]


def fill_market_order(book: BookSnapshot | OrderBook, side: Side | str, quantity: float) -> FillResult:
    """Fill a market order of `side` against the book (no impact, no latency: see `CostModel`)."""
    return walk_book(book_side(book, side), quantity)


def mid_price(book: BookSnapshot | OrderBook) -> float | None:
    """Return (best bid + best ask) / 2, or None when a side is empty."""
    bids, asks = book_side(book, Side.SELL), book_side(book, Side.BUY)
    if not bids or not asks:
        return None
    return (bids[0][0] + asks[0][0]) / 2.0


def slippage(side: Side | str, quantity: float, avg_price: float, reference_price: float) -> float:
    """Return the cost in quote of filling `quantity` at `avg_price` instead of `reference_price`."""
    return Side(side).sign * (avg_price - reference_price) * quantity


def spread_crossing_cost(book: BookSnapshot | OrderBook, quantity: float) -> float:
    """Return the cost in quote of crossing half the spread for `quantity` (best level vs mid)."""
    bids, asks = book_side(book, Side.SELL), book_side(book, Side.BUY)
    if not bids or not asks:
        raise ValueError("spread needs both a best bid and a best ask; the book has an empty side")
    return (asks[0][0] - bids[0][0]) / 2.0 * quantity
