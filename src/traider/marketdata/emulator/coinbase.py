"""Coinbase Advanced Trade public REST (/api/v3/brokerage/market/...) and the v2 currency routes ccxt 4.5.90 calls.

Routes ("recorded": the venue's own payload or values; "derived": built in the venue's schema):

- v2/currencies, v2/currencies/crypto, v2/exchange-rates, derived: the currencies of the recorded
  products in the v2 schema (names = codes, no exchange rates).
- api/v3/brokerage/market/products, derived: cryptofeed COINBASE.0 (Coinbase Pro /products, 2021) rebuilt
  in the Advanced Trade schema; `product_type=FUTURE`: none.
- .../market/products/{id}/candles, real history: history.CANDLE_FILES (Coinbase candles were not recorded).
- .../market/products/{id}/ticker, recorded: the excerpt's fetchTicker (BTC-USDC); the match and last_match
  messages of cryptofeed COINBASE.ws.28.0 re-shaped as market trades (side as recorded).
- .../market/product_book, recorded: the level2 snapshots of COINBASE.ws.28.0 (time = when recorded).
- api/v3/brokerage/time, derived: the emulator's clock.

Candles: start <= candle start <= end (seconds), newest first, at most 350 (more is refused, as the real API
does). Market trades: the newest `limit` inside [start, end], newest first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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
    read_ws_messages,
)
from traider.marketdata.emulator.history import candle_files

GRANULARITIES = {"ONE_MINUTE": "1m", "FIVE_MINUTE": "5m", "FIFTEEN_MINUTE": "15m", "THIRTY_MINUTE": "30m"}
GRANULARITIES |= {"ONE_HOUR": "1h", "TWO_HOUR": "2h", "SIX_HOUR": "6h", "ONE_DAY": "1d"}
SECONDS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400}
FIAT = {"USD", "EUR", "GBP"}


def _iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _product(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_id": item["id"],
        "price": "",
        "base_increment": item["base_increment"],
        "quote_increment": item["quote_increment"],
        "price_increment": item["quote_increment"],
        "base_min_size": item["base_min_size"],
        "base_max_size": item["base_max_size"],
        "quote_min_size": item["min_market_funds"],
        "quote_max_size": item["max_market_funds"],
        "status": item["status"],
        "trading_disabled": item["trading_disabled"],
        "cancel_only": item["cancel_only"],
        "limit_only": item["limit_only"],
        "post_only": item["post_only"],
        "product_type": "SPOT",
        "base_currency_id": item["base_currency"],
        "quote_currency_id": item["quote_currency"],
        "base_display_symbol": item["base_currency"],
        "quote_display_symbol": item["quote_currency"],
        "base_name": item["base_currency"],
        "quote_name": item["quote_currency"],
        "display_name": item["display_name"],
        "alias": "",
        "alias_to": [],
        "is_disabled": False,
        "new": False,
        "view_only": False,
    }


class CoinbaseApp(VenueApp):
    """Coinbase's public REST, answered from recordings."""

    name = "coinbase"

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        recorded = read_http_recordings(data_dir / CRYPTOFEED / "COINBASE.0")[0].body
        self._products = [_product(item) for item in recorded]
        self._product_ids = {item["product_id"] for item in self._products}
        self._candles: dict[tuple[str, str], Series[dict[str, str]]] = {}
        self._trades: dict[str, Series[dict[str, Any]]] = {}
        self._books: dict[str, dict[str, Any]] = {}
        self._best: dict[str, tuple[str, str]] = {}
        self._load(data_dir)
        market = "api/v3/brokerage/market"
        self.route("GET", "v2/currencies", lambda r: {"data": self._currencies(crypto=False)})
        self.route("GET", "v2/currencies/crypto", lambda r: {"data": self._currencies(crypto=True)})
        self.route("GET", "v2/exchange-rates", lambda r: {"data": {"currency": "USD", "rates": {}}})
        self.route("GET", f"{market}/products", self._products_answer)
        self.route("GET", f"{market}/products/{{product_id}}/candles", self._candles_answer)
        self.route("GET", f"{market}/products/{{product_id}}/ticker", self._ticker_answer)
        self.route("GET", f"{market}/product_book", self._book_answer)
        self.route("GET", "api/v3/brokerage/time", lambda r: {"epochMillis": str(now_ms())})

    def error_body(self, error: ApiError) -> Any:
        """Return Coinbase's {"error", "message"} body."""
        return {"error": error.code or "INVALID_ARGUMENT", "message": error.message, "error_details": error.message}

    def rate_limit_body(self) -> Any:
        """Return Coinbase's answer to too many requests."""
        message = "Too many requests"
        return {"error": "rate_limit_exceeded", "error_description": message, "message": message}

    def load_klines(self, section: str, market_id: str, timeframe: str, candles: list[Candle]) -> None:
        """Add real candles as a product's candle history."""
        series = self._candles.setdefault((market_id, timeframe), Series())
        for ts, open_, high, low, close, volume in candles:
            values = {"low": low, "high": high, "open": open_, "close": close, "volume": volume}
            series.add(ts, {"start": str(ts // 1000)} | {k: decimal_str(v) for k, v in values.items()}, replace=False)

    def _load(self, data_dir: Path) -> None:
        for case in excerpt_cases(data_dir, "coinbase", "fetchTicker"):
            response = case["httpResponse"]
            for trade in response["trades"]:
                self._add_trade(trade)
                self._best[trade["product_id"]] = (response["best_bid"], response["best_ask"])
        for at, message in read_ws_messages(data_dir / CRYPTOFEED / "COINBASE.ws.28.0"):
            kind = message.get("type") if isinstance(message, dict) else None
            if kind in ("match", "last_match"):
                keys = ("trade_id", "product_id", "price", "size", "time")
                self._add_trade({key: str(message[key]) for key in keys} | {"side": message["side"].upper()})
            elif kind == "snapshot" and message["product_id"] not in self._books:
                self._books[message["product_id"]] = {"at": at, "bids": message["bids"], "asks": message["asks"]}
                self._best.setdefault(message["product_id"], (message["bids"][0][0], message["asks"][0][0]))
        for item in candle_files("coinbase"):
            self.load_klines(item.section, item.market_id, item.timeframe, read_candles(data_dir / item.path))

    def _add_trade(self, trade: dict[str, Any]) -> None:
        trade = {**trade, "bid": "", "ask": ""}
        series = self._trades.setdefault(trade["product_id"], Series())
        series.add(_iso_ms(trade["time"]), trade, tiebreak=f"{int(trade['trade_id']):020d}")

    def _currencies(self, *, crypto: bool) -> list[dict[str, Any]]:
        codes = sorted({p[f"{side}_currency_id"] for p in self._products for side in ("base", "quote")})
        if not crypto:
            return [{"id": code, "name": code, "min_size": "0.01"} for code in codes if code in FIAT]
        return [
            {"asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, code)), "code": code, "name": code, "type": "crypto"}
            for code in codes
            if code not in FIAT
        ]

    def _products_answer(self, request: Request) -> dict[str, Any]:
        product_type = (request.text("product_type") or "SPOT").upper()
        products = self._products if product_type == "SPOT" else []
        return {"products": products, "num_products": len(products)}

    def _product_id(self, request: Request) -> str:
        product_id = request.params.get("product_id") or request.text("product_id") or ""
        if product_id not in self._product_ids:
            raise ApiError(404, "ProductID is invalid", "NOT_FOUND")
        return product_id

    def _candles_answer(self, request: Request) -> dict[str, Any]:
        product_id = self._product_id(request)
        timeframe = GRANULARITIES.get(request.text("granularity") or "")
        start, end = request.integer("start"), request.integer("end")
        if timeframe is None or start is None or end is None:
            raise ApiError(400, "start, end and a valid granularity are required")
        if (end - start) // SECONDS[timeframe] > 350:
            raise ApiError(400, "number of candles requested should be less than 350")
        series = self._candles.get((product_id, timeframe), Series())
        return {"candles": series.between(start * 1000, end * 1000)[::-1]}

    def _ticker_answer(self, request: Request) -> dict[str, Any]:
        product_id = self._product_id(request)
        limit = bounded_limit(request, "limit", 100, 1000)
        start, end = request.integer("start"), request.integer("end")
        trades = self._trades.get(product_id, Series()).between(
            None if start is None else start * 1000, None if end is None else end * 1000 + 999
        )
        bid, ask = self._best.get(product_id, ("", ""))
        return {"trades": trades[-limit:][::-1], "best_bid": bid, "best_ask": ask}

    def _book_answer(self, request: Request) -> dict[str, Any]:
        product_id = self._product_id(request)
        if product_id not in self._books:
            raise ApiError(404, "no order book recorded for this product", "NOT_FOUND")
        book = self._books[product_id]
        limit = bounded_limit(request, "limit", 50, 1000)
        sides = {side: [{"price": p, "size": s} for p, s, *_ in book[side][:limit]] for side in ("bids", "asks")}
        time = datetime.fromtimestamp(book["at"], UTC).isoformat().replace("+00:00", "Z")
        return {"pricebook": {"product_id": product_id, **sides, "time": time}}
