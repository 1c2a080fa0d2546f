"""TRAIDER's own sequence-gap check on the Binance depth diffs ccxt.pro applies, and discarding a desynced book.

What ccxt.pro 4.5.90 does by itself (pro/binance.py `handle_order_book`): diffs are buffered until the REST
snapshot arrives, buffered diffs that do not bridge it are skipped silently, and afterwards a spot diff must
start at the book's update id + 1 (a futures diff must carry pu == that id). When it does not, ccxt raises
`ChecksumError` only while `options['watchOrderBook']['checksum']` is True (the default): it then deletes its
book and subscription and fails the pending `watch_order_book`, whose next call re-subscribes and takes a fresh
snapshot. With the option False the diff is ignored silently and so is every later one: the book freezes.

`install_gap_guard` makes our behaviour explicit and independent of that option: every diff is checked against
the book's update id before ccxt sees it; a diff that skips updates is never applied, the book and the
subscription are discarded the way ccxt does, and the watcher fails with `LiveGapError` carrying a
`GapDetected` event; the next `watch_order_book` re-subscribes and ccxt fetches a fresh REST snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traider.marketdata.live_events import GapDetected, utc_now
from traider.marketdata.orderbook import DepthDiff, OrderBook, SequenceGapError

GUARDED_EXCHANGES = frozenset({"binance", "binanceus", "binanceusdm", "binancecoinm"})


class LiveGapError(SequenceGapError):
    """A watched book lost updates (or could not be trusted) and was discarded; `event` says what happened."""

    def __init__(self, event: GapDetected) -> None:
        super().__init__(f"{event.venue} {event.symbol}: {event.detail}")
        self.event = event


def skips_updates(diff: DepthDiff, book_id: int) -> bool:
    """Return whether applying `diff` to a book at update id `book_id` would skip updates.

    Spot: a diff ending after the book must start at or before book_id + 1. Futures (diffs carry `pu`): a diff
    reaching the book must either straddle book_id (the first after the snapshot) or have pu == book_id.
    Diffs the book already holds (ending at or before book_id) are harmless: the venue's recipe drops them.
    """
    if diff.previous_final_id is not None:
        reaches = diff.final_id >= book_id
        return reaches and diff.first_id > book_id and diff.previous_final_id != book_id
    return diff.final_id > book_id and diff.first_id > book_id + 1


def install_gap_guard(exchange: Any, venue: str, clock: Callable[[], Any] = utc_now) -> None:
    """Check each depth diff of a ccxt.pro Binance exchange before ccxt applies it (see the module docstring)."""
    if getattr(exchange, "_traider_gap_guard", False):
        return
    original = exchange.handle_order_book

    def handle_order_book(client: Any, message: Any) -> Any:
        event = _gap(exchange, client, message, venue, clock)
        if event is None:
            return original(client, message)
        discard_book(exchange, event.symbol, LiveGapError(event), client)
        return None

    exchange.handle_order_book = handle_order_book
    exchange._traider_gap_guard = True


def discard_book(exchange: Any, symbol: str, error: BaseException, client: Any | None = None) -> None:
    """Delete ccxt's book of `symbol` and its subscription and fail its watcher with `error`, as ccxt does itself.

    The next `watch_order_book(symbol)` then re-subscribes, and ccxt fetches a fresh REST snapshot.
    """
    message_hash = "orderbook::" + symbol
    clients = [client] if client is not None else list((exchange.clients or {}).values())
    exchange.orderbooks.pop(symbol, None)
    for each in clients:
        if message_hash in each.subscriptions:
            del each.subscriptions[message_hash]
            each.reject(error, message_hash)


def to_order_book(book: Any) -> OrderBook:
    """Return a copy of a ccxt order book as our `OrderBook`, at its update id (nonce)."""
    result = OrderBook()
    nonce = book.get("nonce")
    result.apply_snapshot(
        ((float(price), float(amount)) for price, amount, *_ in book["bids"]),
        ((float(price), float(amount)) for price, amount, *_ in book["asks"]),
        int(nonce) if nonce is not None else None,
    )
    return result


def _gap(exchange: Any, client: Any, message: Any, venue: str, clock: Callable[[], Any]) -> GapDetected | None:
    try:
        diff = DepthDiff.from_message(message)
        market_type = "spot" if exchange.is_spot_url(client) else "swap"
        symbol = str(exchange.safe_market(message.get("s"), None, None, market_type)["symbol"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not a diff we can judge: ccxt's own handling decides
    book = exchange.orderbooks.get(symbol)
    book_id = book.get("nonce") if book is not None else None
    if book_id is None or not skips_updates(diff, int(book_id)):
        return None  # not subscribed, still buffering for the snapshot, or continuous
    missed = f"expected a diff from U={int(book_id) + 1}" if diff.previous_final_id is None else f"pu={book_id}"
    return GapDetected(
        venue=venue,
        symbol=symbol,
        at=clock(),
        detail=f"depth diff U={diff.first_id} u={diff.final_id} skips updates after {book_id} ({missed})",
        book_id=int(book_id),
        first_id=diff.first_id,
        final_id=diff.final_id,
        previous_final_id=diff.previous_final_id,
    )
