"""Bybit v5 public REST (/v5/market/...), as ccxt 4.5.90 calls it.

Routes ("recorded": the venue's own payload, served as recorded; "derived": built in the venue's schema):

- v5/market/instruments-info, derived: linear and inverse perpetuals rebuilt in the v5 schema from the v2
  symbols recorded in cryptofeed BYBIT.0 (tick size, qty step, leverage; dated futures left out); spot
  BTCUSDT with the precision of the recorded spot book; options: none.
- v5/market/kline, recorded: the excerpt's fetchOHLCV rows, plus history.CANDLE_FILES (turnover "0").
- v5/market/orderbook, recorded, cut to `limit`: the excerpt's fetchOrderBook (linear and spot).
- v5/market/recent-trade, recorded: the excerpt's fetchTrades.
- v5/market/tickers, recorded: the excerpt's fetchTicker.
- v5/market/funding/history, derived: the LTCUSDT funding settlements in the excerpt's fetchFundingHistory
  (execTime = funding time, feeRate = funding rate).
- v5/market/time, derived: the emulator's clock.

Lists come newest first, as Bybit sends them. Kline: from `start` the first `limit` candles, else the newest
`limit` up to `end`. Funding history: startTime alone is refused (retCode 10001), both bounds give the newest
`limit` rows inside them, endTime alone the newest `limit` up to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traider.marketdata.emulator.base import ApiError, Request, VenueApp, bounded_limit, now_ms
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
from traider.marketdata.emulator.history import candle_files

INTERVALS = {"1m": "1", "3m": "3", "5m": "5", "15m": "15", "30m": "30", "1h": "60", "2h": "120", "4h": "240"}
INTERVALS |= {"6h": "360", "12h": "720", "1d": "D", "1w": "W", "1M": "M"}
TIMEFRAME_OF = {native: unified for unified, native in INTERVALS.items()}


def market_of(symbol: str) -> tuple[str, str]:
    """Return (category, market id) of a unified symbol."""
    pair, _, settle = symbol.partition(":")
    base, _, quote = pair.partition("/")
    if not settle:
        return "spot", base + quote
    return ("linear" if settle == quote else "inverse"), base + quote


def _decimals(values: list[str]) -> str:
    places = max((len(value.partition(".")[2]) for value in values), default=0)
    return "1" if places == 0 else "0." + "0" * (places - 1) + "1"


class BybitApp(VenueApp):
    """Bybit's public v5 REST, answered from recordings."""

    name = "bybit"

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self._instruments: dict[str, list[dict[str, Any]]] = {"spot": [], "linear": [], "inverse": [], "option": []}
        self._klines: dict[tuple[str, str, str], Series[list[str]]] = {}
        self._books: dict[tuple[str, str], dict[str, Any]] = {}
        self._trades: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._tickers: dict[tuple[str, str], dict[str, Any]] = {}
        self._funding: dict[str, Series[dict[str, Any]]] = {}
        self._load(data_dir)
        self.route("GET", "v5/market/instruments-info", self._instruments_info)
        self.route("GET", "v5/market/kline", self._kline)
        self.route("GET", "v5/market/orderbook", self._orderbook)
        self.route("GET", "v5/market/recent-trade", self._recent_trade)
        self.route("GET", "v5/market/tickers", self._ticker)
        self.route("GET", "v5/market/funding/history", self._funding_history)
        self.route("GET", "v5/market/time", lambda r: self._ok({"timeSecond": str(now_ms() // 1000)}))

    def error_body(self, error: ApiError) -> Any:
        """Return Bybit's {"retCode", "retMsg"} envelope."""
        code = error.code or 10001
        return {"retCode": code, "retMsg": error.message, "result": {}, "retExtInfo": {}, "time": now_ms()}

    def rate_limit_body(self) -> Any:
        """Return Bybit's answer to too many requests."""
        return self.error_body(ApiError(429, "Too many visits!", 10006))

    def load_klines(self, section: str, market_id: str, timeframe: str, candles: list[Candle]) -> None:
        """Add real candles as kline history of a category; recorded rows at the same start are kept."""
        series = self._klines.setdefault((section, market_id, timeframe), Series())
        for ts, *values in candles:
            series.add(ts, [str(ts), *(decimal_str(v) for v in values), "0"], replace=False)

    def _load(self, data_dir: Path) -> None:
        for item in read_http_recordings(data_dir / CRYPTOFEED / "BYBIT.0")[0].body["result"]:
            self._add_perpetual(item)
        self._load_excerpts(data_dir)
        for case in excerpt_cases(data_dir, "bybit", "fetchFundingHistory"):
            for row in case["httpResponse"]["result"]["list"]:
                entry = {
                    "symbol": row["symbol"],
                    "fundingRate": row["feeRate"],
                    "fundingRateTimestamp": row["execTime"],
                }
                self._funding.setdefault(row["symbol"], Series()).add(int(row["execTime"]), entry)
        for item in candle_files("bybit"):
            self.load_klines(item.section, item.market_id, item.timeframe, read_candles(data_dir / item.path))

    def _load_excerpts(self, data_dir: Path) -> None:
        for case in excerpt_cases(data_dir, "bybit", "fetchOHLCV"):
            category, market_id = market_of(case["input"][0])
            series = self._klines.setdefault((category, market_id, case["input"][1]), Series())
            for row in case["httpResponse"]["result"]["list"]:
                series.add(int(row[0]), row)
        for case in excerpt_cases(data_dir, "bybit", "fetchOrderBook"):
            category, market_id = market_of(case["input"][0])
            self._books[(category, market_id)] = case["httpResponse"]["result"]
            if category == "spot":
                self._add_spot(market_id, case["httpResponse"]["result"])
        for case in excerpt_cases(data_dir, "bybit", "fetchTrades"):
            self._trades[market_of(case["input"][0])] = case["httpResponse"]["result"]["list"]
        for case in excerpt_cases(data_dir, "bybit", "fetchTicker"):
            self._tickers[market_of(case["input"][0])] = case["httpResponse"]["result"]["list"][0]

    def _add_perpetual(self, item: dict[str, Any]) -> None:
        quote, base = item["quote_currency"], item["base_currency"]
        if item["name"] != base + quote:  # dated futures (BTCUSDM21): not served
            return
        linear = quote == "USDT"
        lot, price, leverage = item["lot_size_filter"], item["price_filter"], item["leverage_filter"]
        self._instruments["linear" if linear else "inverse"].append(
            {
                "symbol": item["name"],
                "contractType": "LinearPerpetual" if linear else "InversePerpetual",
                "status": "Trading",
                "baseCoin": base,
                "quoteCoin": quote,
                "settleCoin": quote if linear else base,
                "launchTime": "0",
                "deliveryTime": "0",
                "deliveryFeeRate": "",
                "priceScale": str(item["price_scale"]),
                "leverageFilter": {
                    "minLeverage": str(leverage["min_leverage"]),
                    "maxLeverage": str(leverage["max_leverage"]),
                    "leverageStep": str(leverage["leverage_step"]),
                },
                "priceFilter": {
                    "minPrice": str(price["min_price"]),
                    "maxPrice": str(price["max_price"]),
                    "tickSize": str(price["tick_size"]),
                },
                "lotSizeFilter": {
                    "maxOrderQty": str(lot["max_trading_qty"]),
                    "minOrderQty": str(lot["min_trading_qty"]),
                    "qtyStep": str(lot["qty_step"]),
                    "postOnlyMaxOrderQty": str(lot["max_trading_qty"]),
                },
                "unifiedMarginTrade": True,
                "fundingInterval": 480,
                "copyTrading": "none",
            }
        )

    def _add_spot(self, market_id: str, book: dict[str, Any]) -> None:
        base, quote = market_id[:-4], market_id[-4:]
        levels = book["a"] + book["b"]
        self._instruments["spot"].append(
            {
                "symbol": market_id,
                "baseCoin": base,
                "quoteCoin": quote,
                "innovation": "0",
                "status": "Trading",
                "marginTrading": "none",
                "lotSizeFilter": {
                    "basePrecision": _decimals([amount for _, amount in levels]),
                    "quotePrecision": "0.00000001",
                    "minOrderQty": _decimals([amount for _, amount in levels]),
                    "maxOrderQty": "1000000",
                    "minOrderAmt": "1",
                    "maxOrderAmt": "10000000",
                },
                "priceFilter": {"tickSize": _decimals([price for price, _ in levels])},
            }
        )

    def _ok(self, result: Any) -> dict[str, Any]:
        return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms()}

    def _key(self, request: Request) -> tuple[str, str]:
        category, symbol = request.text("category"), request.text("symbol")
        if category not in self._instruments:
            raise ApiError(200, "Illegal category", 10001)
        if not symbol:
            raise ApiError(200, "params error: symbol invalid", 10001)
        return category, symbol

    def _instruments_info(self, request: Request) -> dict[str, Any]:
        category = request.text("category") or ""
        if category not in self._instruments:
            raise ApiError(200, "Illegal category", 10001)
        items = self._instruments[category]
        if request.text("symbol"):
            items = [item for item in items if item["symbol"] == request.text("symbol")]
        return self._ok({"category": category, "list": items, "nextPageCursor": ""})

    def _kline(self, request: Request) -> dict[str, Any]:
        category, symbol = self._key(request)
        timeframe = TIMEFRAME_OF.get(request.text("interval") or "")
        if timeframe is None:
            raise ApiError(200, "Invalid period!", 10001)
        limit = bounded_limit(request, "limit", 200, 1000)
        series = self._klines.get((category, symbol, timeframe), Series())
        rows = window(series, request.integer("start"), request.integer("end"), limit)
        return self._ok({"symbol": symbol, "category": category, "list": rows[::-1]})

    def _orderbook(self, request: Request) -> dict[str, Any]:
        key = self._key(request)
        if key not in self._books:
            raise ApiError(200, "params error: symbol invalid", 10001)
        book = self._books[key]
        spot = key[0] == "spot"
        limit = bounded_limit(request, "limit", 1 if spot else 25, 200 if spot else 500)
        return self._ok({**book, "b": book["b"][:limit], "a": book["a"][:limit]})

    def _recent_trade(self, request: Request) -> dict[str, Any]:
        key = self._key(request)
        limit = bounded_limit(request, "limit", 60, 1000)
        return self._ok({"category": key[0], "list": self._trades.get(key, [])[:limit]})

    def _ticker(self, request: Request) -> dict[str, Any]:
        key = self._key(request)
        tickers = [self._tickers[key]] if key in self._tickers else []
        return self._ok({"category": key[0], "list": tickers})

    def _funding_history(self, request: Request) -> dict[str, Any]:
        category, symbol = self._key(request)
        start, end = request.integer("startTime"), request.integer("endTime")
        if start is not None and end is None:
            raise ApiError(200, "params error: endTime is required when startTime is passed", 10001)
        limit = bounded_limit(request, "limit", 200, 200)
        rows = window(self._funding.get(symbol, Series()), None, end, limit)
        if start is not None:
            rows = [row for row in self._funding.get(symbol, Series()).between(start, end)][-limit:]
        return self._ok({"category": category, "list": rows[::-1]})
