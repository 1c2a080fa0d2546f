"""Bybit (legacy v2 realtime) messages of cryptofeed recordings.

`trade.<symbol>` → trades (`side` is the taker's); `orderBookL2_25.<symbol>` `snapshot` → a book
snapshot and `delta` → book deltas (deleted levels get amount 0), both timed by `timestamp_e6` and
sequenced by `cross_seq`. Inverse contracts (BTCUSD) quote sizes in contracts of 1 USD, as Bybit
does. Subscription acknowledgements are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from traider.marketdata.files.cryptofeed_output import Output, rejected
from traider.marketdata.files.recording import BadRecord, RecordedMessage, amount, field, integer, price
from traider.marketdata.records import Stream

WS_STREAMS = frozenset({Stream.TRADES, Stream.BOOK_SNAPSHOTS, Stream.BOOK_DELTAS})
SIDES = {"Buy": "buy", "Sell": "sell"}
BOOK_SIDE = {"Buy": "bid", "Sell": "ask"}


def handle(message: RecordedMessage, body: Any) -> Iterator[Output]:
    """Yield the records of one Bybit message."""
    topic = body.get("topic", "") if isinstance(body, dict) else ""
    if topic.startswith("trade."):
        yield from _trades(message, body)
    elif topic.startswith("orderBookL2_25."):
        stream = Stream.BOOK_SNAPSHOTS if body.get("type") == "snapshot" else Stream.BOOK_DELTAS
        try:
            head = {
                "symbol": topic.split(".", 1)[1],
                "ts": integer(field(body, "timestamp_e6"), "timestamp_e6"),
                "sequence": integer(field(body, "cross_seq"), "cross_seq"),
            }
            data = field(body, "data")
        except BadRecord as error:
            yield rejected(stream, message, str(error), body)
            return
        if stream is Stream.BOOK_SNAPSHOTS:
            yield _snapshot(message, head, data)
        else:
            yield from _deltas(message, head, data)


def _trades(message: RecordedMessage, body: dict[str, Any]) -> Iterator[Output]:
    trades = body.get("data")
    for trade in trades if isinstance(trades, list) else [trades]:
        try:
            side = field(trade, "side")
            if side not in SIDES:
                raise BadRecord("side not Buy or Sell")
            row = {
                "symbol": str(field(trade, "symbol")),
                "trade_id": str(field(trade, "trade_id")),
                "ts": integer(field(trade, "trade_time_ms"), "trade_time_ms") * 1_000,
                "price": price(field(trade, "price")),
                "amount": amount(field(trade, "size"), zero=False),
                "side": SIDES[side],
            }
        except BadRecord as error:
            yield rejected(Stream.TRADES, message, str(error), trade)
            continue
        yield Output(Stream.TRADES, row)


def _snapshot(message: RecordedMessage, head: dict[str, Any], data: Any) -> Output:
    entries = data.get("order_book") if isinstance(data, dict) else data
    try:
        if not isinstance(entries, list):
            raise BadRecord("snapshot data is not a list of levels")
        book: dict[str, list[tuple[float, float]]] = {"bid": [], "ask": []}
        for entry in entries:
            side = field(entry, "side")
            if side not in BOOK_SIDE:
                raise BadRecord("level side not Buy or Sell")
            book[BOOK_SIDE[side]].append((price(field(entry, "price")), amount(field(entry, "size"))))
    except BadRecord as error:
        return rejected(Stream.BOOK_SNAPSHOTS, message, str(error), data)
    bids = sorted(book["bid"], reverse=True)
    asks = sorted(book["ask"])
    return Output(Stream.BOOK_SNAPSHOTS, {**head, "bids": bids, "asks": asks})


def _deltas(message: RecordedMessage, head: dict[str, Any], data: Any) -> Iterator[Output]:
    if not isinstance(data, dict):
        yield rejected(Stream.BOOK_DELTAS, message, "delta data is not an object", data)
        return
    for action in ("delete", "update", "insert"):
        for entry in data.get(action) or []:
            try:
                side = field(entry, "side")
                if side not in BOOK_SIDE:
                    raise BadRecord("level side not Buy or Sell")
                size = 0.0 if action == "delete" else amount(field(entry, "size"))
                row = {**head, "side": BOOK_SIDE[side], "price": price(field(entry, "price")), "amount": size}
            except BadRecord as error:
                yield rejected(Stream.BOOK_DELTAS, message, str(error), {**head, "action": action, "level": entry})
                continue
            yield Output(Stream.BOOK_DELTAS, row)
