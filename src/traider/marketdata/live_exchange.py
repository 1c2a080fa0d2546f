"""Building ccxt.pro (async, websocket) exchanges for the live streams, optionally pointed at local emulators.

REST URLs (the order-book snapshots, the market list) are rewritten to `rest_base_url` and websocket URLs to
`ws_base_url`, each keeping its path, as `make_exchange` does for REST-only ccxt. Binance streams aggregate
trades (`@aggTrade`), whose ids are those of the REST aggTrades the backfill stores, so live and backfilled
trades deduplicate against each other.
"""

from __future__ import annotations

from typing import Any

from traider.marketdata.ccxt_client import MARKET_TYPES, rewrite_api_urls

TRADE_CHANNELS = {"binance": "aggTrade", "binanceusdm": "aggTrade"}


def make_pro_exchange(
    ccxt_id: str,
    *,
    market_type: str = "spot",
    rest_base_url: str | None = None,
    ws_base_url: str | None = None,
    timeout_ms: int = 10_000,
) -> Any:
    """Return a ccxt.pro exchange with the rate limiter on, optionally pointed at local REST and websocket servers."""
    import ccxt.pro

    options: dict[str, Any] = {}
    types = MARKET_TYPES.get((ccxt_id, market_type))
    if types is not None:
        options["fetchMarkets"] = {"types": types}
    config = {"enableRateLimit": True, "timeout": timeout_ms, "options": options}
    exchange = getattr(ccxt.pro, ccxt_id)(config)
    channel = TRADE_CHANNELS.get(ccxt_id)
    if channel is not None:
        exchange.options["watchTrades"] = {**exchange.options.get("watchTrades", {}), "name": channel}
    api = exchange.urls["api"]
    if rest_base_url is not None:
        api = {key: value if key == "ws" else rewrite_api_urls(value, rest_base_url) for key, value in api.items()}
    if ws_base_url is not None and "ws" in api:
        api = {**api, "ws": rewrite_api_urls(api["ws"], ws_base_url)}
    exchange.urls["api"] = api
    return exchange
