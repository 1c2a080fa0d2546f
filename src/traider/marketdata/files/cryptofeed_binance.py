"""Binance messages of cryptofeed recordings (spot, USDⓈ-M, COIN-M, Binance US): the same payloads.

aggTrade and trade → trades (the taker sold when the buyer was the maker); closed kline_<tf> → OHLCV
(open klines are provisional and superseded, so they are not records); depthUpdate → book deltas,
one per level, sequenced by the diff's final update id `u`; the REST /depth response → a book
snapshot sequenced by `lastUpdateId`, timed by its `E` field or else by the recorder's clock.
bookTicker and other channels carry no record of the stored streams and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

from traider.marketdata.files.cryptofeed_output import Output, rejected
from traider.marketdata.files.recording import BadRecord, RecordedMessage, amount, field, integer, levels, price
from traider.marketdata.records import Stream

WS_STREAMS = frozenset({Stream.TRADES, Stream.OHLCV, Stream.BOOK_DELTAS})
HTTP_STREAMS = frozenset({Stream.BOOK_SNAPSHOTS})
EVENT_STREAMS = {"aggTrade": Stream.TRADES, "trade": Stream.TRADES, "kline": Stream.OHLCV}


def handle(message: RecordedMessage, body: Any) -> Iterator[Output]:
    """Yield the records of one Binance message or REST response."""
    if message.url is not None:
        if "/depth" in message.url:
            yield _snapshot(message, body)
        return
    data = body.get("data", body) if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return
    event = data.get("e")
    if event == "depthUpdate":
        yield from _deltas(message, data)
    elif event in EVENT_STREAMS:
        stream = EVENT_STREAMS[event]
        try:
            row = _kline(data) if event == "kline" else _trade(data)
        except BadRecord as error:
            yield rejected(stream, message, str(error), data)
            return
        if row is not None:
            yield Output(stream, row)


def _trade(data: dict[str, Any]) -> dict[str, Any]:
    trade_id = field(data, "a") if data.get("e") == "aggTrade" else field(data, "t")
    return {
        "symbol": str(field(data, "s")),
        "trade_id": str(integer(trade_id, "trade id")),
        "ts": integer(field(data, "T"), "trade time") * 1_000,
        "price": price(field(data, "p")),
        "amount": amount(field(data, "q"), zero=False),
        "side": "sell" if field(data, "m") is True else "buy",
    }


def _kline(data: dict[str, Any]) -> dict[str, Any] | None:
    kline = field(data, "k")
    if field(kline, "x") is not True:
        return None
    return {
        "symbol": str(field(data, "s")),
        "timeframe": str(field(kline, "i")),
        "ts": integer(field(kline, "t"), "open time") * 1_000,
        "open": price(field(kline, "o"), "open"),
        "high": price(field(kline, "h"), "high"),
        "low": price(field(kline, "l"), "low"),
        "close": price(field(kline, "c"), "close"),
        "volume": amount(field(kline, "v"), "volume"),
    }


def _deltas(message: RecordedMessage, data: dict[str, Any]) -> Iterator[Output]:
    try:
        head = {
            "symbol": str(field(data, "s")),
            "ts": integer(field(data, "E"), "event time") * 1_000,
            "sequence": integer(field(data, "u"), "final update id"),
        }
        sides = [("bid", field(data, "b")), ("ask", field(data, "a"))]
    except BadRecord as error:
        yield rejected(Stream.BOOK_DELTAS, message, str(error), data)
        return
    for side, entries in sides:
        for entry in entries if isinstance(entries, list) else [entries]:
            try:
                ((level_price, level_amount),) = levels([entry], side)
            except BadRecord as error:
                yield rejected(Stream.BOOK_DELTAS, message, str(error), {**head, "side": side, "level": entry})
                continue
            yield Output(Stream.BOOK_DELTAS, {**head, "side": side, "price": level_price, "amount": level_amount})


def _snapshot(message: RecordedMessage, body: Any) -> Output:
    try:
        symbols = parse_qs(urlparse(message.url or "").query).get("symbol")
        if not symbols:
            raise BadRecord("depth request URL names no symbol")
        event_time = body.get("E") if isinstance(body, dict) else None
        row = {
            "symbol": symbols[0],
            "ts": integer(event_time, "event time") * 1_000 if event_time is not None else message.received_us,
            "sequence": integer(field(body, "lastUpdateId"), "lastUpdateId"),
            "bids": levels(field(body, "bids"), "bids"),
            "asks": levels(field(body, "asks"), "asks"),
        }
    except BadRecord as error:
        return rejected(Stream.BOOK_SNAPSHOTS, message, str(error), body)
    return Output(Stream.BOOK_SNAPSHOTS, row)
