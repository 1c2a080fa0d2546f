"""Kraken spot public REST (/0/public/...), as ccxt 4.5.90 calls it.

Routes ("recorded": the venue's own payload, served as recorded; "derived": built in the venue's schema):

- 0/public/Assets, derived: XBT, LTC and USDT, the assets of the recorded pairs.
- 0/public/AssetPairs, derived: XBTUSDT (price decimals as in the recorded candles) and LTCUSDT (lot
  decimals as in the recorded order; price decimals assumed 2).
- 0/public/OHLC, recorded: the excerpt's fetchOHLCV (XBTUSDT 1h).
- 0/public/Trades, recorded: the excerpt's fetchTrades.
- 0/public/Ticker, recorded: the excerpt's fetchTicker.
- 0/public/Depth, derived: one level per side, the best bid and ask of the recorded ticker (time: the
  recorded trade's).
- 0/public/Time, derived: the emulator's clock.

OHLC follows the real API: candles after `since`, at most the newest 720, `last` = the start of the last
committed candle (the newest row is the open, uncommitted one). Trades: after `since` (seconds), `count` rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traider.marketdata.emulator.base import ApiError, Request, VenueApp, bounded_limit, now_ms
from traider.marketdata.emulator.data import Series, excerpt_cases

ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5, "status": "enabled"},
    "XLTC": {"aclass": "currency", "altname": "LTC", "decimals": 10, "display_decimals": 5, "status": "enabled"},
    "USDT": {"aclass": "currency", "altname": "USDT", "decimals": 8, "display_decimals": 4, "status": "enabled"},
}
PAIRS = {"XBTUSDT": ("XXBT", "USDT", 1, 8), "LTCUSDT": ("XLTC", "USDT", 2, 8)}


def _pair(pair_id: str, base: str, quote: str, price_decimals: int, lot_decimals: int) -> dict[str, Any]:
    return {
        "altname": pair_id,
        "wsname": f"{ASSETS[base]['altname']}/{ASSETS[quote]['altname']}",
        "aclass_base": "currency",
        "base": base,
        "aclass_quote": "currency",
        "quote": quote,
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": price_decimals,
        "lot_decimals": lot_decimals,
        "lot_multiplier": 1,
        "leverage_buy": [],
        "leverage_sell": [],
        "fees": [[0, 0.4]],
        "fees_maker": [[0, 0.25]],
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": "0.0001",
        "costmin": "0.5",
        "tick_size": "0." + "0" * (price_decimals - 1) + "1",
        "status": "online",
    }


class KrakenApp(VenueApp):
    """Kraken's public REST, answered from recordings."""

    name = "kraken"

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self._ohlc: dict[tuple[str, int], Series[list[Any]]] = {}
        self._trades: dict[str, Series[list[Any]]] = {}
        self._tickers: dict[str, dict[str, Any]] = {}
        self._trade_time: dict[str, int] = {}
        for case in excerpt_cases(data_dir, "kraken", "fetchOHLCV"):
            interval = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}[case["input"][1]]
            for pair_id, rows in case["httpResponse"]["result"].items():
                if pair_id != "last":
                    series = self._ohlc.setdefault((pair_id, interval), Series())
                    for row in rows:
                        series.add(int(row[0]) * 1000, row)
        for case in excerpt_cases(data_dir, "kraken", "fetchTrades"):
            for pair_id, rows in case["httpResponse"]["result"].items():
                if pair_id != "last":
                    for row in rows:
                        self._trades.setdefault(pair_id, Series()).add(int(row[2] * 1000), row, tiebreak=str(row[6]))
                        self._trade_time[pair_id] = int(row[2])
        for case in excerpt_cases(data_dir, "kraken", "fetchTicker"):
            self._tickers.update(case["httpResponse"]["result"])
        self.route("GET", "0/public/Assets", lambda r: self._ok(ASSETS))
        self.route("GET", "0/public/AssetPairs", lambda r: self._ok({k: _pair(k, *v) for k, v in PAIRS.items()}))
        self.route("GET", "0/public/OHLC", self._ohlc_answer)
        self.route("GET", "0/public/Trades", self._trades_answer)
        self.route("GET", "0/public/Ticker", self._ticker)
        self.route("GET", "0/public/Depth", self._depth)
        self.route("GET", "0/public/Time", lambda r: self._ok({"unixtime": now_ms() // 1000}))

    def error_body(self, error: ApiError) -> Any:
        """Return Kraken's {"error": [...]} body."""
        return {"error": [error.message]}

    def rate_limit_body(self) -> Any:
        """Return Kraken's answer to too many requests."""
        return {"error": ["EAPI:Rate limit exceeded"]}

    def _ok(self, result: Any) -> dict[str, Any]:
        return {"error": [], "result": result}

    def _pair_id(self, request: Request) -> str:
        pair = request.text("pair") or ""
        for pair_id in PAIRS:
            if pair in (pair_id, _pair(pair_id, *PAIRS[pair_id])["wsname"]):
                return pair_id
        raise ApiError(200, "EQuery:Unknown asset pair")

    def _ohlc_answer(self, request: Request) -> dict[str, Any]:
        pair_id = self._pair_id(request)
        interval = request.integer("interval", 1) or 1
        if interval not in (1, 5, 15, 30, 60, 240, 1440, 10080, 21600):
            raise ApiError(200, "EGeneral:Invalid arguments")
        since = request.integer("since")
        rows = self._ohlc.get((pair_id, interval), Series()).between(None if since is None else since * 1000 + 1)
        rows = rows[-720:]
        last = int(rows[-1][0]) - interval * 60 if rows else (since or 0)
        return self._ok({pair_id: rows, "last": str(last)})

    def _trades_answer(self, request: Request) -> dict[str, Any]:
        pair_id = self._pair_id(request)
        since = request.integer("since")
        if since is not None and since > 10**12:  # nanoseconds, as Kraken's own `last` cursor
            since //= 1_000_000_000
        count = bounded_limit(request, "count", 1000, 1000)
        rows = self._trades.get(pair_id, Series()).between(None if since is None else since * 1000 + 1)[:count]
        last = rows[-1][7] if rows else str((since or 0) * 1_000_000_000)
        return self._ok({pair_id: rows, "last": last})

    def _ticker(self, request: Request) -> dict[str, Any]:
        pair_id = self._pair_id(request)
        if pair_id not in self._tickers:
            raise ApiError(200, "EQuery:Unknown asset pair")
        return self._ok({pair_id: self._tickers[pair_id]})

    def _depth(self, request: Request) -> dict[str, Any]:
        pair_id = self._pair_id(request)
        ticker = self._tickers.get(pair_id)
        if ticker is None:
            raise ApiError(200, "EQuery:Unknown asset pair")
        at = self._trade_time.get(pair_id, 0)
        book = {"asks": [[ticker["a"][0], ticker["a"][2], at]], "bids": [[ticker["b"][0], ticker["b"][2], at]]}
        return self._ok({pair_id: book})
