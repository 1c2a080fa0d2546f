"""Turning ccxt's unified structures into TRAIDER's records, rejecting what the database would refuse.

Every row that cannot be normalised becomes a `Rejection` carrying the raw row and the reason, so
nothing is dropped silently. The checks mirror the CHECK constraints of the market tables: positive
finite prices, high not below low, open and close inside [low, high], non-negative volume, amounts
positive, funding rates inside (-1, 1), no timestamp before the Bitcoin genesis block.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from traider.marketdata.records import Bar, BookSnapshot, FundingRate, Rejection, Stream, Trade

GENESIS_MS = 1_230_940_800_000  # 2009-01-03T00:00:00Z


class RowError(ValueError):
    """Why one raw row cannot be normalised."""


def to_datetime(ms: Any) -> datetime:
    """Return a ccxt millisecond timestamp as an aware UTC datetime; raise RowError if it is not plausible."""
    if isinstance(ms, bool) or not isinstance(ms, int | float) or not math.isfinite(ms):
        raise RowError(f"timestamp {ms!r} is not a number")
    if ms < GENESIS_MS:
        raise RowError(f"timestamp {ms!r} predates 2009-01-03 (seconds instead of milliseconds?)")
    return datetime.fromtimestamp(ms / 1000, UTC)


def _number(value: Any, name: str, *, positive: bool = False, non_negative: bool = False) -> float:
    if isinstance(value, bool) or value is None:
        raise RowError(f"{name} is missing")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise RowError(f"{name} {value!r} is not finite")
    if positive and number <= 0:
        raise RowError(f"{name} {number} is not positive")
    if non_negative and number < 0:
        raise RowError(f"{name} {number} is negative")
    return number


def _raw(row: Any) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        return {key: value for key, value in row.items() if key != "info"} | {"info": row.get("info")}
    return {"row": row}


def bars(
    source: str, venue: str, symbol: str, timeframe: str, rows: Iterable[Any]
) -> tuple[list[Bar], list[Rejection]]:
    """Normalise ccxt OHLCV rows [ms, open, high, low, close, volume]."""
    good, bad = [], []
    for row in rows:
        try:
            if not isinstance(row, list | tuple) or len(row) < 6:
                raise RowError("an OHLCV row needs six fields")
            ts = to_datetime(row[0])
            names = ("open", "high", "low", "close")
            open_, high, low, close = (_number(row[i], name, positive=True) for i, name in enumerate(names, 1))
            volume = _number(row[5], "volume", non_negative=True)
            if high < low:
                raise RowError(f"high {high} is below low {low}")
            if not (low <= open_ <= high and low <= close <= high):
                raise RowError("open or close lies outside [low, high]")
            good.append(Bar(venue, symbol, timeframe, ts, open_, high, low, close, volume))
        except RowError as error:
            bad.append(Rejection(source, Stream.OHLCV, _raw(row), str(error)))
    return good, bad


def trades(source: str, venue: str, symbol: str, rows: Iterable[Any]) -> tuple[list[Trade], list[Rejection]]:
    """Normalise ccxt trade structures."""
    good, bad = [], []
    for row in rows:
        try:
            if not isinstance(row, Mapping):
                raise RowError("a trade must be a mapping")
            trade_id = row.get("id")
            if trade_id in (None, ""):
                raise RowError("trade has no id")
            side = row.get("side")
            if side not in ("buy", "sell", None):
                raise RowError(f"side {side!r} is neither buy nor sell")
            ts = to_datetime(row.get("timestamp"))
            price = _number(row.get("price"), "price", positive=True)
            amount = _number(row.get("amount"), "amount", positive=True)
            good.append(Trade(venue, symbol, str(trade_id), ts, price, amount, side))
        except RowError as error:
            bad.append(Rejection(source, Stream.TRADES, _raw(row), str(error)))
    return good, bad


def book_snapshot(
    source: str, venue: str, symbol: str, book: Mapping[str, Any], fetched_ms: int
) -> tuple[list[BookSnapshot], list[Rejection]]:
    """Normalise a ccxt order book; ts = the venue's timestamp, else when it was fetched; sequence = nonce or 0."""
    try:
        bids, asks = _levels(book.get("bids"), "bid"), _levels(book.get("asks"), "ask")
        if not bids and not asks:
            raise RowError("the book is empty")
        if any(high[0] <= low[0] for high, low in itertools.pairwise(bids)) or any(
            low[0] >= high[0] for low, high in itertools.pairwise(asks)
        ):
            raise RowError("levels are not sorted best first")
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise RowError(f"crossed book: best bid {bids[0][0]} >= best ask {asks[0][0]}")
        timestamp = book.get("timestamp")
        ts = to_datetime(timestamp if timestamp is not None else fetched_ms)
        nonce = book.get("nonce")
        sequence = int(nonce) if nonce is not None else 0
        return [BookSnapshot(venue, symbol, ts, sequence, bids, asks)], []
    except (RowError, TypeError, IndexError, ValueError) as error:
        return [], [Rejection(source, Stream.BOOK_SNAPSHOTS, _raw(book), str(error))]


def _levels(levels: Any, side: str) -> tuple[tuple[float, float], ...]:
    return tuple(
        (_number(level[0], f"{side} price", positive=True), _number(level[1], f"{side} amount", non_negative=True))
        for level in levels or []
    )


def funding_rates(
    source: str, venue: str, symbol: str, rows: Iterable[Any]
) -> tuple[list[FundingRate], list[Rejection]]:
    """Normalise ccxt funding-rate-history structures; mark price from the venue's `markPrice` when it sends one."""
    good, bad = [], []
    for row in rows:
        try:
            if not isinstance(row, Mapping):
                raise RowError("a funding rate must be a mapping")
            ts = to_datetime(row.get("timestamp"))
            rate = _number(row.get("fundingRate"), "fundingRate")
            if not -1 < rate < 1:
                raise RowError(f"funding rate {rate} is outside (-1, 1)")
            info = row.get("info") if isinstance(row.get("info"), Mapping) else {}
            mark = info.get("markPrice") if info else None
            mark_price = _number(mark, "markPrice", positive=True) if mark not in (None, "") else None
            good.append(FundingRate(venue, symbol, ts, rate, mark_price, None))
        except RowError as error:
            bad.append(Rejection(source, Stream.FUNDING_RATES, _raw(row), str(error)))
    return good, bad
