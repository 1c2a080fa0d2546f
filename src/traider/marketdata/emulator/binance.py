"""Binance spot (/api/v3), USDⓈ-M (/fapi/v1) and COIN-M (/dapi/v1) public REST, as ccxt 4.5.90 calls it.

Routes ("recorded": the venue's own payload, served as recorded; "derived": built in the venue's schema):

- {api/v3,fapi/v1,dapi/v1}/exchangeInfo, recorded: cryptofeed BINANCE.0, BINANCE_FUTURES.0, BINANCE_DELIVERY.0 (2021).
- {api/v3,fapi/v1,dapi/v1}/klines, recorded: the excerpt's fetchOHLCV rows, plus the real candles of
  history.CANDLE_FILES (close time derived, quote volume and trade counts "0").
- dapi/v1/indexPriceKlines, recorded: the excerpt's "inverse index price" case.
- {api/v3,fapi/v1}/aggTrades, recorded: the excerpt's fetchTrades; the raw aggTrades of freqtrade XRP_OLD-trades.
- {api/v3,fapi/v1,dapi/v1}/depth, recorded, cut to `limit`: excerpt fetchOrderBook; cryptofeed BINANCE*.http.0.0.
- api/v3/ticker/24hr, recorded: the excerpt's fetchTicker.
- fapi/v1/fundingRate, derived: freqtrade's XRPUSDT funding rates, mark price = close of the previous 8h
  mark-price candle.
- {api/v3,fapi/v1,dapi/v1}/time, derived: the emulator's clock.
- Signed spot trading (api/v3 order, openOrders, myTrades, account), derived: `binance_account` (`accounts`).

Selection follows the real API: with startTime the first `limit` rows from it (up to endTime), else the
newest `limit` rows up to endTime; aggTrades refuses a startTime-endTime span above one hour.
"""

from __future__ import annotations

import gzip
import json
from functools import partial
from pathlib import Path
from typing import Any

from traider.marketdata.emulator.base import ApiError, Request, VenueApp, bounded_limit, now_ms
from traider.marketdata.emulator.binance_account import BinanceAccounts
from traider.marketdata.emulator.data import (
    CRYPTOFEED,
    Candle,
    Series,
    decimal_str,
    excerpt_cases,
    read_candles,
    read_http_recordings,
    window,
)
from traider.marketdata.emulator.history import BINANCE_AGG_TRADES, BINANCE_FUNDING, BINANCE_MARK, candle_files

SECTIONS = {"spot": "api/v3", "fapi": "fapi/v1", "dapi": "dapi/v1"}
INFO_FILES = {"spot": "BINANCE.0", "fapi": "BINANCE_FUTURES.0", "dapi": "BINANCE_DELIVERY.0"}
DEPTH_FILES = {"spot": "BINANCE.http.0.0", "fapi": "BINANCE_FUTURES.http.0.0", "dapi": "BINANCE_DELIVERY.http.0.0"}
INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000}
INTERVAL_MS |= {"2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000}
INTERVAL_MS |= {"1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000}
HOUR_MS = 3_600_000


def market_of(symbol: str) -> tuple[str, str]:
    """Return (section, market id) of a unified ccxt symbol: BTC/USDT spot, BTC/USDT:USDT fapi, BTC/USD:BTC dapi."""
    pair, _, settle = symbol.partition(":")
    base, _, quote = pair.partition("/")
    if not settle:
        return "spot", base + quote
    return ("fapi", base + quote) if settle == quote else ("dapi", f"{base}{quote}_PERP")


class BinanceApp(VenueApp):
    """Binance's public REST, answered from recordings."""

    name = "binance"

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self._info: dict[str, Any] = {}
        self._klines: dict[tuple[str, str, str, str], Series[list[Any]]] = {}
        self._trades: dict[tuple[str, str], Series[dict[str, Any]]] = {}
        self._books: dict[tuple[str, str], dict[str, Any]] = {}
        self._tickers: dict[str, dict[str, Any]] = {}
        self._funding: dict[str, Series[dict[str, Any]]] = {}
        self._load(data_dir)
        for section, prefix in SECTIONS.items():
            self.route("GET", f"{prefix}/exchangeInfo", partial(self._exchange_info, section=section))
            self.route("GET", f"{prefix}/time", lambda r: {"serverTime": now_ms()})
            self.route("GET", f"{prefix}/klines", partial(self._klines_answer, section=section, kind="klines"))
            self.route("GET", f"{prefix}/depth", partial(self._depth, section=section))
            self.route("GET", f"{prefix}/aggTrades", partial(self._agg_trades, section=section))
        self.route(
            "GET", "dapi/v1/indexPriceKlines", partial(self._klines_answer, section="dapi", kind="indexPriceKlines")
        )
        self.route("GET", "api/v3/ticker/24hr", self._ticker)
        self.route("GET", "fapi/v1/fundingRate", self._funding_rate)
        self.accounts = BinanceAccounts(
            self._info["spot"]["symbols"], lambda market_id: self._books.get(("spot", market_id))
        )
        self.accounts.register(self)

    def error_body(self, error: ApiError) -> Any:
        """Return Binance's {"code", "msg"} error body."""
        return {"code": error.code if error.code is not None else -1100, "msg": error.message}

    def rate_limit_body(self) -> Any:
        """Return Binance's answer to too many requests."""
        return {"code": -1003, "msg": "Too many requests; current limit of IP is 6000 requests per minute."}

    def load_klines(self, section: str, market_id: str, timeframe: str, candles: list[Candle]) -> None:
        """Add real candles as kline history; recorded rows at the same open time are kept."""
        series = self._klines.setdefault(("klines", section, market_id, timeframe), Series())
        step = INTERVAL_MS[timeframe]
        for ts, *values in candles:
            row = [ts, *(decimal_str(v) for v in values), ts + step - 1, "0", 0, "0", "0", "0"]
            series.add(ts, row, replace=False)

    def _load(self, data_dir: Path) -> None:
        self._load_recordings(data_dir)
        self._load_excerpts(data_dir)
        for item in candle_files("binance"):
            self.load_klines(item.section, item.market_id, item.timeframe, read_candles(data_dir / item.path))
        with gzip.open(data_dir / BINANCE_AGG_TRADES, "rt", encoding="utf-8") as handle:
            for trade in json.load(handle):
                self._add_trade(("spot", "XRPETH"), trade["info"])
        self._load_funding(data_dir)

    def _load_recordings(self, data_dir: Path) -> None:
        for section, name in INFO_FILES.items():
            self._info[section] = read_http_recordings(data_dir / CRYPTOFEED / name)[0].body
            for recording in read_http_recordings(data_dir / CRYPTOFEED / DEPTH_FILES[section]):
                market_id = recording.url.split("symbol=")[1].split("&")[0]
                self._books[(section, market_id)] = recording.body

    def _load_excerpts(self, data_dir: Path) -> None:
        for case in excerpt_cases(data_dir, "binance", "fetchOHLCV"):
            section, market_id = market_of(case["input"][0])
            extra = case["input"][4] if len(case["input"]) > 4 else {}
            kind = "indexPriceKlines" if extra.get("price") == "index" else "klines"
            key_id = market_id.split("_")[0] if kind == "indexPriceKlines" else market_id
            series = self._klines.setdefault((kind, section, key_id, case["input"][1]), Series())
            for row in case["httpResponse"]:
                series.add(int(row[0]), row)
        for case in excerpt_cases(data_dir, "binance", "fetchOrderBook"):
            self._books[market_of(case["input"][0])] = case["httpResponse"]
        for case in excerpt_cases(data_dir, "binance", "fetchTrades"):
            for trade in case["httpResponse"]:
                self._add_trade(market_of(case["input"][0]), trade)
        for case in excerpt_cases(data_dir, "binance", "fetchTicker"):
            self._tickers[case["httpResponse"]["symbol"]] = case["httpResponse"]

    def _load_funding(self, data_dir: Path) -> None:
        marks = {ts: close for ts, _, _, _, close, _ in read_candles(data_dir / BINANCE_MARK)}
        series = self._funding.setdefault("XRPUSDT", Series())
        for ts, rate, *_ in read_candles(data_dir / BINANCE_FUNDING):
            mark = marks.get(ts - ts % (8 * HOUR_MS) - 8 * HOUR_MS)
            entry = {"symbol": "XRPUSDT", "fundingTime": ts, "fundingRate": decimal_str(rate)}
            entry["markPrice"] = decimal_str(mark) if mark is not None else ""
            series.add(ts, entry)

    def _add_trade(self, key: tuple[str, str], trade: dict[str, Any]) -> None:
        self._trades.setdefault(key, Series()).add(int(trade["T"]), trade, tiebreak=f"{int(trade['a']):020d}")

    def _symbol(self, request: Request, name: str = "symbol") -> str:
        symbol = request.text(name)
        if not symbol:
            raise ApiError(400, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.", -1102)
        return symbol

    def _exchange_info(self, request: Request, *, section: str) -> Any:
        return self._info[section]

    def _klines_answer(self, request: Request, *, section: str, kind: str) -> list[list[Any]]:
        market_id = self._symbol(request, "pair" if kind == "indexPriceKlines" else "symbol")
        interval = request.text("interval") or ""
        if interval not in INTERVAL_MS:
            raise ApiError(400, "Invalid interval.", -1120)
        series = self._klines.get((kind, section, market_id, interval))
        if series is None and not self._known(section, market_id.split("_")[0]):
            raise ApiError(400, "Invalid symbol.", -1121)
        limit = bounded_limit(request, "limit", 500, 1000 if section == "spot" else 1500)
        return window(series or Series(), request.integer("startTime"), request.integer("endTime"), limit)

    def _depth(self, request: Request, *, section: str) -> dict[str, Any]:
        market_id = self._symbol(request)
        book = self._books.get((section, market_id))
        if book is None:
            raise ApiError(400, "Invalid symbol.", -1121)
        limit = bounded_limit(request, "limit", 100, 5000)
        return {**book, "bids": book["bids"][:limit], "asks": book["asks"][:limit]}

    def _agg_trades(self, request: Request, *, section: str) -> list[dict[str, Any]]:
        market_id = self._symbol(request)
        start, end = request.integer("startTime"), request.integer("endTime")
        if start is not None and end is not None and end - start > HOUR_MS:
            raise ApiError(400, "More than 1 hours between startTime and endTime.", -1127)
        limit = bounded_limit(request, "limit", 500, 1000)
        series = self._trades.get((section, market_id), Series())
        from_id = request.integer("fromId")
        if from_id is not None:
            return [trade for trade in series.between() if int(trade["a"]) >= from_id][:limit]
        return window(series, start, end, limit)

    def _ticker(self, request: Request) -> dict[str, Any]:
        market_id = self._symbol(request)
        if market_id not in self._tickers:
            raise ApiError(400, "Invalid symbol.", -1121)
        return self._tickers[market_id]

    def _funding_rate(self, request: Request) -> list[dict[str, Any]]:
        limit = bounded_limit(request, "limit", 100, 1000)
        series = self._funding.get(request.text("symbol") or "", Series())
        return window(series, request.integer("startTime"), request.integer("endTime"), limit)

    def _known(self, section: str, market_id: str) -> bool:
        items = self._info[section]["symbols"]
        return any(market_id in (item.get("symbol"), item.get("pair")) for item in items)
