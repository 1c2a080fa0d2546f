"""Coinbase (Pro ws-feed) messages of cryptofeed recordings.

level2 `snapshot` → a book snapshot (timed by the recorder's clock: the message has no time),
`l2update` → book deltas, one per change; `match` and `last_match` → trades, whose `side` is the
maker's, so the taker's side is the other one. The feed's level2 messages carry no sequence number,
so their sequence is the line number in the recording (increasing with arrival). ticker and
subscription messages are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from traider.marketdata.files.cryptofeed_output import Output, rejected
from traider.marketdata.files.recording import BadRecord, RecordedMessage, amount, field, iso_micros, levels, price
from traider.marketdata.records import Stream

WS_STREAMS = frozenset({Stream.TRADES, Stream.BOOK_SNAPSHOTS, Stream.BOOK_DELTAS})
TAKER_SIDE = {"buy": "sell", "sell": "buy"}
BOOK_SIDE = {"buy": "bid", "sell": "ask"}


def handle(message: RecordedMessage, body: Any) -> Iterator[Output]:
    """Yield the records of one Coinbase message."""
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "snapshot":
        try:
            row = {
                "symbol": str(field(body, "product_id")),
                "ts": message.received_us,
                "sequence": message.line,
                "bids": levels(field(body, "bids"), "bids"),
                "asks": levels(field(body, "asks"), "asks"),
            }
        except BadRecord as error:
            yield rejected(Stream.BOOK_SNAPSHOTS, message, str(error), body)
            return
        yield Output(Stream.BOOK_SNAPSHOTS, row)
    elif kind == "l2update":
        yield from _deltas(message, body)
    elif kind in ("match", "last_match"):
        try:
            yield Output(Stream.TRADES, _trade(body))
        except BadRecord as error:
            yield rejected(Stream.TRADES, message, str(error), body)


def _trade(body: dict[str, Any]) -> dict[str, Any]:
    maker_side = field(body, "side")
    if maker_side not in TAKER_SIDE:
        raise BadRecord("side not buy or sell")
    return {
        "symbol": str(field(body, "product_id")),
        "trade_id": str(field(body, "trade_id")),
        "ts": iso_micros(field(body, "time")),
        "price": price(field(body, "price")),
        "amount": amount(field(body, "size"), zero=False),
        "side": TAKER_SIDE[maker_side],
    }


def _deltas(message: RecordedMessage, body: dict[str, Any]) -> Iterator[Output]:
    try:
        symbol = str(field(body, "product_id"))
        head = {"symbol": symbol, "ts": iso_micros(field(body, "time")), "sequence": message.line}
        changes = field(body, "changes")
        if not isinstance(changes, list):
            raise BadRecord("changes is not a list")
    except BadRecord as error:
        yield rejected(Stream.BOOK_DELTAS, message, str(error), body)
        return
    for change in changes:
        try:
            if not isinstance(change, list) or len(change) != 3 or change[0] not in BOOK_SIDE:
                raise BadRecord("change is not [buy|sell, price, size]")
            row = {**head, "side": BOOK_SIDE[change[0]], "price": price(change[1]), "amount": amount(change[2])}
        except BadRecord as error:
            yield rejected(Stream.BOOK_DELTAS, message, str(error), {**head, "change": change})
            continue
        yield Output(Stream.BOOK_DELTAS, row)
