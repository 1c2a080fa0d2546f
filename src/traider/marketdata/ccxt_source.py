"""`CcxtSource`: the `Source` of a ccxt venue — OHLCV, trades, order-book snapshots and funding rates over REST.

A range [start, end) is fetched page by page with `since` + `limit`, oldest first, one `Batch` per page,
until `end` (default: now) or until the venue has no more. Venues differ in how a page is cut, which
`VenueQuirks` records: Binance answers trades for at most one hour per request, Coinbase answers
candles for a fixed window (limit x timeframe) and trades newest-first inside a [start, end] window, Bybit
only knows recent trades and answers funding history newest-first inside [startTime, endTime], and Kraken
only ever answers its newest 720 candles (older ranges cannot be fetched from Kraken's REST API). Every
call goes through `call_with_retries`; resumption from a stored watermark is the caller's `start`
(see `watermarks.resume_start`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from traider.marketdata import ccxt_normalise as normalise
from traider.marketdata.ccxt_client import RetryPolicy, call_with_retries, make_exchange
from traider.marketdata.ccxt_paging import HOUR_MS, forward_pages, window_pages
from traider.marketdata.records import Record, Rejection, Stream, to_frame
from traider.marketdata.source import Batch, FetchRequest
from traider.marketdata.venues import VenueConfig


@dataclass(frozen=True)
class VenueQuirks:
    """How a venue's REST API cuts pages (see the module docstring)."""

    page_limit: int
    funding_limit: int = 1000
    trades_window_ms: int | None = None
    trades_by_window: bool = False
    trades_history: bool = True
    ohlcv_window: bool = False
    funding_window: bool = False


QUIRKS = {
    "binance": VenueQuirks(page_limit=1000, trades_window_ms=HOUR_MS),
    "binanceusdm": VenueQuirks(page_limit=1000, trades_window_ms=HOUR_MS),
    "bybit": VenueQuirks(page_limit=1000, funding_limit=200, trades_history=False, funding_window=True),
    "kraken": VenueQuirks(page_limit=720),
    "coinbase": VenueQuirks(page_limit=300, trades_by_window=True, ohlcv_window=True),
}


class CcxtSource:
    """A `Source` over one ccxt venue (synchronous ccxt, rate limiter on)."""

    def __init__(
        self,
        venue: VenueConfig,
        *,
        api_base_url: str | None = None,
        retry: RetryPolicy | None = None,
        page_limit: int | None = None,
        timeout_ms: int = 10_000,
        sleep: Callable[[float], None] = time.sleep,
        exchange: Any = None,
    ) -> None:
        self.venue = venue
        self.name = f"ccxt:{venue.name}"
        self.quirks = QUIRKS[venue.ccxt_id]
        self.retry = retry or RetryPolicy()
        self.page_limit = page_limit
        self._sleep = sleep
        self.exchange = exchange or make_exchange(
            venue.ccxt_id,
            market_type=venue.market_type,
            api_base_url=api_base_url,
            timeout_ms=timeout_ms,
            rate_limit_ms=venue.rate_limit_ms,
        )

    def fetch(self, request: FetchRequest) -> Iterator[Batch]:
        """Yield batches answering `request`, oldest first."""
        if request.venue != self.venue.name:
            raise ValueError(f"{self.name} cannot answer a request for venue {request.venue!r}")
        if request.stream is Stream.BOOK_DELTAS:
            raise ValueError(f"{self.name} has no REST source for book deltas; use a websocket stream")
        self._call(f"{self.venue.name} load_markets", self._load_markets)
        start = _ms(request.start)
        end = int((request.end.timestamp() if request.end is not None else time.time()) * 1000)
        if request.stream is Stream.OHLCV:
            yield from self._ohlcv(request, start, end)
        elif request.stream is Stream.TRADES:
            yield from self._trades(request, start, end)
        elif request.stream is Stream.BOOK_SNAPSHOTS:
            yield self._book(request)
        else:
            yield from self._funding(request, start, end)

    def _limit(self, venue_max: int) -> int:
        return min(self.page_limit or venue_max, venue_max)

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        return call_with_retries(call, exchange=self.exchange, what=what, policy=self.retry, sleep=self._sleep)

    def _load_markets(self) -> Any:
        markets = self.exchange.load_markets(reload=not self.exchange.markets)
        if not markets:
            import ccxt

            raise ccxt.BadResponse(f"{self.exchange.id} answered no markets")
        return markets

    def _batch(self, stream: Stream, records: list[Any], rejections: list[Rejection]) -> Batch:
        typed: list[Record] = records
        return Batch(stream, to_frame(stream, typed), tuple(rejections), self.name)

    def _ohlcv(self, request: FetchRequest, start: int | None, end: int) -> Iterator[Batch]:
        symbol, timeframe = request.symbol, request.timeframe or ""
        step = int(self.exchange.parse_timeframe(timeframe) * 1000)
        limit = self._limit(self.quirks.page_limit)

        def fetch(since: int | None, size: int) -> list[Any]:
            what = f"{self.venue.name} fetch_ohlcv {symbol} {timeframe} since={since}"
            rows: list[Any] = self._call(what, lambda: self.exchange.fetch_ohlcv(symbol, timeframe, since, size))
            return rows

        window = limit * step if self.quirks.ohlcv_window else None
        ts_of = _candle_ts
        pages = forward_pages(
            fetch,
            ts_of=ts_of,
            key_of=ts_of,
            start=start,
            end=end,
            limit=limit,
            advance=lambda ts: ts + step,
            window=window,
        )
        for page in pages:
            good, bad = normalise.bars(self.name, self.venue.name, symbol, timeframe, page)
            yield self._batch(Stream.OHLCV, good, bad)

    def _trades(self, request: FetchRequest, start: int | None, end: int) -> Iterator[Batch]:
        symbol = request.symbol
        limit = self._limit(1000)

        def fetch(since: int | None, size: int, until: int | None = None) -> list[Any]:
            params = {} if until is None else {"until": until}
            what = f"{self.venue.name} fetch_trades {symbol} since={since}"
            rows: list[Any] = self._call(what, lambda: self.exchange.fetch_trades(symbol, since, size, params))
            return rows

        ts_of, key_of = _structure_ts, _trade_id
        pages: Iterator[list[Any]]
        if self.quirks.trades_by_window and start is not None:
            pages = window_pages(fetch, ts_of=ts_of, key_of=key_of, start=start, end=end, limit=limit, venue_max=1000)
        else:
            history = self.quirks.trades_history  # False: the venue only answers its most recent trades
            pages = forward_pages(
                fetch,
                ts_of=ts_of,
                key_of=key_of,
                start=start if history else None,
                end=end,
                limit=limit,
                advance=lambda ts: ts,
                window=self.quirks.trades_window_ms,
            )
            if not history:
                pages = ([row for row in page if start is None or ts_of(row) >= start] for page in pages)
        for page in pages:
            good, bad = normalise.trades(self.name, self.venue.name, symbol, page)
            yield self._batch(Stream.TRADES, good, bad)

    def _book(self, request: FetchRequest) -> Batch:
        symbol = request.symbol
        what = f"{self.venue.name} fetch_order_book {symbol}"
        book = self._call(what, lambda: self.exchange.fetch_order_book(symbol))
        good, bad = normalise.book_snapshot(self.name, self.venue.name, symbol, book, int(time.time() * 1000))
        return self._batch(Stream.BOOK_SNAPSHOTS, good, bad)

    def _funding(self, request: FetchRequest, start: int | None, end: int) -> Iterator[Batch]:
        symbol = request.symbol
        limit = self._limit(self.quirks.funding_limit)
        market = self._call(f"{self.venue.name} market {symbol}", lambda: self.exchange.market(symbol))
        if not market.get("swap"):
            raise ValueError(f"{self.name}: {symbol} is not a perpetual swap, it has no funding rates")
        interval = int(market.get("info", {}).get("fundingInterval") or 480) * 60_000

        def fetch(since: int | None, size: int) -> list[Any]:
            params = {"until": since + size * interval - 1} if self.quirks.funding_window and since is not None else {}
            what = f"{self.venue.name} fetch_funding_rate_history {symbol} since={since}"
            call = lambda: self.exchange.fetch_funding_rate_history(symbol, since, size, params)  # noqa: E731
            rows: list[Any] = self._call(what, call)
            return rows

        window = limit * interval if self.quirks.funding_window else None
        ts_of = _structure_ts
        pages = forward_pages(
            fetch,
            ts_of=ts_of,
            key_of=ts_of,
            start=start,
            end=end,
            limit=limit,
            advance=lambda ts: ts + 1,
            window=window,
        )
        for page in pages:
            good, bad = normalise.funding_rates(self.name, self.venue.name, symbol, page)
            yield self._batch(Stream.FUNDING_RATES, good, bad)


def _candle_ts(row: Any) -> int:
    return int(row[0])


def _structure_ts(row: Any) -> int:
    return int(row["timestamp"])


def _trade_id(row: Any) -> str:
    return str(row["id"])


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)
