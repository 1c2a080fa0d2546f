"""The exchange emulator against the real ccxt client: recorded answers, real-API paging rules, faults."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import pytest

from traider.marketdata.ccxt_client import rewrite_api_urls, truncated_answer
from traider.marketdata.emulator import ExchangeEmulator, FaultKind
from traider.marketdata.emulator.data import EXCERPTS, read_candles

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_faults")]


@pytest.fixture(scope="module")
def clients(emulator: ExchangeEmulator) -> dict[str, Any]:
    """Real ccxt clients shared by the module's tests (loading Binance's 1,800 markets takes a second)."""
    return {}


def new_client(emulator: ExchangeEmulator, ccxt_id: str) -> Any:
    """Return a new real ccxt client of `ccxt_id` (every market type) pointed at the emulator."""
    exchange = getattr(ccxt, ccxt_id)(
        {"enableRateLimit": True, "rateLimit": 1, "timeout": 2_000, "enableLastJsonResponse": True}
    )
    exchange.urls["api"] = rewrite_api_urls(exchange.urls["api"], emulator.base_url(ccxt_id))
    return exchange


@pytest.fixture
def client(emulator: ExchangeEmulator, clients: dict[str, Any]) -> Iterator[Any]:
    """Return a factory of loaded real ccxt clients, reset to a 2 s timeout after the test."""

    def get(ccxt_id: str) -> Any:
        if ccxt_id not in clients:
            clients[ccxt_id] = new_client(emulator, ccxt_id)
            clients[ccxt_id].load_markets()
        return clients[ccxt_id]

    yield get
    for exchange in clients.values():
        exchange.timeout = 2_000


def cases(shared_data: Path, venue: str, method: str) -> list[dict[str, Any]]:
    document = json.loads((shared_data / EXCERPTS / f"{venue}.excerpt.json").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = document["methods"].get(method, [])
    return found


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("ccxt_id", "symbol"),
    [
        ("binance", "BTC/USDT"),
        ("binance", "BTC/USDT:USDT"),
        ("binanceusdm", "XRP/USDT:USDT"),
        ("bybit", "BTC/USDT:USDT"),
        ("bybit", "BTC/USDT"),
        ("kraken", "BTC/USDT"),
        ("coinbase", "BTC/USD"),
    ],
)
def test_emulator_load_markets_each_venue_lists_recorded_symbol(
    emulator: ExchangeEmulator, client: Any, ccxt_id: str, symbol: str
) -> None:
    markets = client(ccxt_id).markets

    assert symbol in markets


@pytest.mark.parametrize("venue", ["binance", "bybit", "kraken"])
def test_emulator_fetch_ohlcv_excerpt_inputs_equal_parsed_response(
    emulator: ExchangeEmulator, client: Any, shared_data: Path, venue: str
) -> None:
    exchange = client(venue)
    for case in cases(shared_data, venue, "fetchOHLCV"):
        assert exchange.fetch_ohlcv(*case["input"]) == case["parsedResponse"], case["description"]


@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_emulator_fetch_order_book_excerpt_inputs_equal_parsed_response(
    emulator: ExchangeEmulator, client: Any, shared_data: Path, venue: str
) -> None:
    exchange = client(venue)
    for case in cases(shared_data, venue, "fetchOrderBook"):
        book = exchange.fetch_order_book(*case["input"])
        expected = case["parsedResponse"]
        keys = ("symbol", "bids", "asks", "timestamp", "nonce")
        assert {key: book[key] for key in keys} == {key: expected[key] for key in keys}, case["description"]


@pytest.mark.parametrize("venue", ["binance", "bybit", "kraken"])
def test_emulator_fetch_trades_excerpt_inputs_equal_parsed_response(
    emulator: ExchangeEmulator, client: Any, shared_data: Path, venue: str
) -> None:
    exchange = client(venue)
    keys = ("id", "timestamp", "symbol", "side", "price", "amount")
    for case in cases(shared_data, venue, "fetchTrades"):
        trades = exchange.fetch_trades(*case["input"])
        assert [{k: t[k] for k in keys} for t in trades] == [{k: t[k] for k in keys} for t in case["parsedResponse"]]


@pytest.mark.parametrize("venue", ["binance", "bybit", "kraken", "coinbase"])
def test_emulator_fetch_ticker_excerpt_inputs_equal_parsed_response(
    emulator: ExchangeEmulator, client: Any, shared_data: Path, venue: str
) -> None:
    exchange = client(venue)
    for case in cases(shared_data, venue, "fetchTicker"):
        ticker = exchange.fetch_ticker(*case["input"])
        for key in ("symbol", "bid", "ask", "last", "high", "low"):
            assert ticker[key] == case["parsedResponse"][key], key


def test_emulator_bybit_funding_history_returns_recorded_settlements(
    emulator: ExchangeEmulator, client: Any, shared_data: Path
) -> None:
    settlements = cases(shared_data, "bybit", "fetchFundingHistory")[0]["httpResponse"]["result"]["list"]
    expected = sorted((int(row["execTime"]), float(row["feeRate"])) for row in settlements)

    rates = client("bybit").fetch_funding_rate_history("LTC/USDT:USDT", expected[0][0], 200)

    assert [(rate["timestamp"], rate["fundingRate"]) for rate in rates] == expected
    assert len(expected) == 14


def test_emulator_binanceusdm_funding_history_pages_from_start_time(emulator: ExchangeEmulator, client: Any) -> None:
    exchange = client("binanceusdm")

    first = exchange.fetch_funding_rate_history("XRP/USDT:USDT", 1637193600000, 5)
    after = exchange.fetch_funding_rate_history("XRP/USDT:USDT", first[-1]["timestamp"] + 1, 5)

    stamps = [rate["timestamp"] for rate in first + after]
    assert len(stamps) == 10
    assert stamps == sorted(set(stamps))
    assert all(b - a == pytest.approx(8 * 3_600_000, abs=1_000) for a, b in itertools.pairwise(stamps))


def test_emulator_coinbase_book_and_trades_come_from_ws_recording(emulator: ExchangeEmulator, client: Any) -> None:
    exchange = client("coinbase")

    book = exchange.fetch_order_book("SKL/USD", 5)
    trades = exchange.fetch_trades("SKL/USD", None, 1000)

    assert len(book["bids"]) == len(book["asks"]) == 5
    assert book["bids"][0][0] < book["asks"][0][0]
    assert book["datetime"].startswith("2021-04-17T16:43")
    assert len(trades) == 53
    assert {trade["side"] for trade in trades} <= {"buy", "sell"}


def test_emulator_binance_klines_follow_start_end_limit_rules(emulator: ExchangeEmulator, shared_data: Path) -> None:
    candles = read_candles(shared_data / "freqtrade/tests/testdata/XRP_ETH-1m.feather")
    start, end = candles[10][0], candles[40][0]
    base = emulator.base_url("binance") + "/api/v3/klines?symbol=XRPETH&interval=1m"

    _, from_start = get_json(f"{base}&startTime={start}&limit=5")
    _, in_range = get_json(f"{base}&startTime={start}&endTime={end}&limit=1000")
    _, newest = get_json(f"{base}&endTime={end}&limit=3")

    assert [row[0] for row in from_start] == [c[0] for c in candles[10:15]]
    assert [row[0] for row in in_range] == [c[0] for c in candles[10:41]]
    assert [row[0] for row in newest] == [c[0] for c in candles[38:41]]
    assert float(from_start[0][4]) == candles[10][4]


def test_emulator_binance_agg_trades_span_over_one_hour_refused(emulator: ExchangeEmulator) -> None:
    url = emulator.base_url("binance") + "/api/v3/aggTrades?symbol=XRPETH&startTime=0&endTime=3600001"

    status, body = get_json(url)

    assert status == 400
    assert body["code"] == -1127


def test_emulator_unknown_path_answers_404_naming_path(emulator: ExchangeEmulator) -> None:
    status, body = get_json(emulator.base_url("kraken") + "/0/public/Nope")

    assert status == 404
    assert "/0/public/Nope" in body["error"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("429", ccxt.DDoSProtection),
        ("5xx", ccxt.ExchangeNotAvailable),
        ("timeout", ccxt.RequestTimeout),
        ("outage", ccxt.NetworkError),
    ],
)
def test_emulator_fault_kind_raises_matching_ccxt_error(
    emulator: ExchangeEmulator, client: Any, kind: str, expected: type[Exception]
) -> None:
    exchange = client("binance")
    exchange.timeout = 300
    emulator.inject(venue="binance", kind=kind, count=1, latency_s=0.6)

    with pytest.raises(expected):
        exchange.fetch_order_book("BTC/USDT", 2)
    assert exchange.fetch_order_book("BTC/USDT", 2)["bids"]


@pytest.mark.parametrize(
    ("venue", "expected"), [("bybit", ccxt.RateLimitExceeded), ("coinbase", ccxt.RateLimitExceeded)]
)
def test_emulator_429_uses_venue_error_body(
    emulator: ExchangeEmulator, client: Any, venue: str, expected: type[Exception]
) -> None:
    exchange = client(venue)
    emulator.inject(venue=venue, kind="429")

    with pytest.raises(expected):
        exchange.fetch_order_book("BTC/USDT:USDT" if venue == "bybit" else "SKL/USD", 2)


def test_emulator_truncated_json_is_silent_in_ccxt_but_detected(emulator: ExchangeEmulator, client: Any) -> None:
    exchange = client("binance")
    emulator.inject(venue="binance", kind=FaultKind.TRUNCATED_JSON)

    book = exchange.fetch_order_book("BTC/USDT", 2)

    assert book["bids"] == []  # ccxt returns an empty book rather than failing
    assert truncated_answer(exchange)


def test_emulator_latency_delays_answer(emulator: ExchangeEmulator, client: Any) -> None:
    exchange = client("kraken")
    emulator.inject(venue="kraken", kind="latency", latency_s=0.3)

    started = time.monotonic()
    exchange.fetch_ticker("BTC/USDT")

    assert time.monotonic() - started >= 0.3


def test_emulator_fault_count_and_venue_filter_bound_the_fault(emulator: ExchangeEmulator) -> None:
    emulator.inject(venue="kraken", kind="5xx", count=2)
    url = emulator.base_url("kraken") + "/0/public/Time"

    kraken_statuses = [urllib_status(url) for _ in range(3)]
    other = urllib_status(emulator.base_url("bybit") + "/v5/market/time")

    assert kraken_statuses == [503, 503, 200]
    assert other == 200


def test_emulator_outage_window_ends_after_duration(emulator: ExchangeEmulator) -> None:
    emulator.inject(kind="outage", duration=0.3)
    url = emulator.base_url("bybit") + "/v5/market/time"

    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib_status(url)
    time.sleep(0.35)

    assert urllib_status(url) == 200
    faults = [record.fault for record in emulator.requests if record.path == "/v5/market/time"]
    assert faults == [FaultKind.OUTAGE, None]


def test_emulator_request_log_records_each_call_from_loopback(emulator: ExchangeEmulator) -> None:
    new_client(emulator, "kraken").fetch_ticker("BTC/USDT")

    kraken = [record for record in emulator.requests if record.venue == "kraken"]
    paths = [record.path for record in kraken]

    assert paths == ["/0/public/Assets", "/0/public/AssetPairs", "/0/public/Ticker"]
    assert {record.client_host for record in emulator.requests} == {"127.0.0.1"}
    assert kraken[-1].query == {"pair": "XBTUSDT"}


def test_emulator_non_loopback_host_refused(shared_data: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        ExchangeEmulator(shared_data, host="0.0.0.0")


def test_emulator_unknown_fault_kind_refused(emulator: ExchangeEmulator) -> None:
    with pytest.raises(ValueError):
        emulator.inject(kind="meteor")


def urllib_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
