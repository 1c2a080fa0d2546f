"""CcxtSource through the real ccxt client against the exchange emulator: paging, faults, retries, normalisation."""

from __future__ import annotations

import gzip
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pytest

from traider.marketdata import ccxt_normalise
from traider.marketdata.ccxt_client import FetchError, RetryPolicy
from traider.marketdata.ccxt_paging import forward_pages
from traider.marketdata.ccxt_source import CcxtSource
from traider.marketdata.emulator import ExchangeEmulator, FaultKind
from traider.marketdata.emulator.data import CRYPTOFEED, EXCERPTS, read_candles, read_ws_messages
from traider.marketdata.records import COLUMNS, Stream
from traider.marketdata.source import Batch, FetchRequest, Source
from traider.marketdata.venues import VenueConfig

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_faults")]

FAST = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=0.05)
SPOT = {"coinbase", "binance", "kraken"}


def venue(name: str, **update: Any) -> VenueConfig:
    market_type = "spot" if name in SPOT else "swap"
    symbols = ("BTC/USDT",) if market_type == "spot" else ("BTC/USDT:USDT",)
    streams = (Stream.OHLCV,) if market_type == "spot" else (Stream.OHLCV, Stream.FUNDING_RATES)
    fields: dict[str, Any] = {"name": name, "ccxt_id": name, "market_type": market_type, "enabled": True}
    fields |= {"symbols": symbols, "streams": streams, "rate_limit_ms": 1}
    return VenueConfig(**fields | update)


@pytest.fixture
def make_source(emulator: ExchangeEmulator) -> Callable[..., CcxtSource]:
    def make(name: str, *, page_limit: int | None = None, retry: RetryPolicy = FAST, **kwargs: Any) -> CcxtSource:
        rate_limit = kwargs.pop("rate_limit_ms", 1)
        config = venue(name, rate_limit_ms=rate_limit)
        return CcxtSource(config, api_base_url=emulator.base_url(name), retry=retry, page_limit=page_limit, **kwargs)

    return make


@pytest.fixture(scope="module")
def binance_source(emulator: ExchangeEmulator) -> CcxtSource:
    """One Binance spot source for the module: loading its 1,700 markets takes a second."""
    return CcxtSource(venue("binance"), api_base_url=emulator.base_url("binance"), retry=FAST)


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def ms(moment: Any) -> int:
    return round(moment.timestamp() * 1000)


def collect(source: Source, request: FetchRequest) -> tuple[pd.DataFrame, list[Batch]]:
    batches = list(source.fetch(request))
    frame = pd.concat([batch.frame for batch in batches], ignore_index=True)
    return frame, batches


def candle_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [(ms(row.ts), row.open, row.high, row.low, row.close, row.volume) for row in frame.itertuples()]


def test_ccxt_source_implements_source_and_rewrites_every_api_url(emulator: ExchangeEmulator) -> None:
    for name in ("coinbase", "binance", "kraken", "bybit", "binanceusdm"):
        source = CcxtSource(venue(name), api_base_url=emulator.base_url(name))
        urls = json.dumps(source.exchange.urls["api"])

        assert isinstance(source, Source)
        assert source.exchange.enableRateLimit is True
        assert "https://" not in urls and emulator.url in urls


class OhlcvCase(NamedTuple):
    name: str
    symbol: str
    timeframe: str
    path: str
    first: int
    count: int
    page: int | None


OHLCV_CASES = [
    OhlcvCase("binance", "XRP/ETH", "1m", "freqtrade/tests/testdata/XRP_ETH-1m.feather", 0, 1500, 400),
    OhlcvCase(
        "binanceusdm",
        "XRP/USDT:USDT",
        "5m",
        "freqtrade/tests/testdata/futures/XRP_USDT_USDT-5m-futures.feather",
        5,
        600,
        250,
    ),
    OhlcvCase("bybit", "BTC/USDT:USDT", "5m", "freqtrade/tests/testdata/orderflow/candles.json", 3, 700, 300),
    OhlcvCase(
        "coinbase", "BTC/USD", "1m", "jesse/tests/data_extracted/test_candles_0__test_candles_0.csv", 0, 1382, None
    ),
]


@pytest.mark.parametrize("case", OHLCV_CASES, ids=[case.name for case in OHLCV_CASES])
def test_ccxt_source_ohlcv_range_pages_without_gaps_or_duplicates(
    make_source: Callable[..., CcxtSource], binance_source: CcxtSource, shared_data: Path, case: OhlcvCase
) -> None:
    name, symbol, timeframe, path, first, count, page = case
    candles = read_candles(shared_data / path)
    start = candles[first][0]
    end = candles[first + count - 1][0] + 1 if first + count < len(candles) else candles[-1][0] + 60_000
    source = binance_source if name == "binance" else make_source(name)
    source.page_limit = page

    frame, batches = collect(source, FetchRequest(Stream.OHLCV, name, symbol, at(start), at(end), timeframe))

    expected = [candle for candle in candles if start <= candle[0] < end]
    assert candle_rows(frame) == expected
    assert len(batches) >= 3
    assert list(frame.columns) == list(COLUMNS[Stream.OHLCV])
    assert not any(batch.rejections for batch in batches)


def test_ccxt_source_kraken_ohlcv_equals_excerpt(make_source: Callable[..., CcxtSource], shared_data: Path) -> None:
    case = json.loads((shared_data / EXCERPTS / "kraken.excerpt.json").read_text())["methods"]["fetchOHLCV"][0]
    symbol, timeframe, since, limit = case["input"]

    frame, _ = collect(make_source("kraken"), FetchRequest(Stream.OHLCV, "kraken", symbol, at(since), None, timeframe))

    assert [list(row) for row in candle_rows(frame)[:limit]] == case["parsedResponse"]


def test_ccxt_source_binance_trades_page_hour_windows_match_recording(
    binance_source: CcxtSource, shared_data: Path
) -> None:
    with gzip.open(shared_data / "freqtrade/tests/testdata/XRP_OLD-trades.json.gz", "rt") as handle:
        recorded = json.load(handle)
    start = recorded[0]["timestamp"]
    end = start + 3 * 3_600_000
    expected = [trade["id"] for trade in recorded if start <= trade["timestamp"] < end]
    binance_source.page_limit = 100

    frame, batches = collect(binance_source, FetchRequest(Stream.TRADES, "binance", "XRP/ETH", at(start), at(end)))

    assert sorted(frame["trade_id"]) == sorted(expected)
    assert frame["trade_id"].is_unique
    assert frame["ts"].is_monotonic_increasing
    assert len(batches) > 5
    assert set(frame["side"]) == {"buy", "sell"}


def test_ccxt_source_coinbase_trades_window_halving_returns_every_match(
    make_source: Callable[..., CcxtSource], shared_data: Path
) -> None:
    matches = [
        message
        for _, message in read_ws_messages(shared_data / CRYPTOFEED / "COINBASE.ws.28.0")
        if isinstance(message, dict)
        and message.get("type") in ("match", "last_match")
        and message["product_id"] == "SKL-USD"
    ]
    start, end = at(1618677800000), at(1618677900000)

    frame, batches = collect(
        make_source("coinbase", page_limit=10), FetchRequest(Stream.TRADES, "coinbase", "SKL/USD", start, end)
    )

    assert sorted(frame["trade_id"]) == sorted(str(match["trade_id"]) for match in matches)
    assert frame["trade_id"].is_unique and frame["ts"].is_monotonic_increasing
    assert len(batches) >= 3


def test_ccxt_source_bybit_trades_serves_recent_trades_only(make_source: Callable[..., CcxtSource]) -> None:
    frame, _ = collect(make_source("bybit"), FetchRequest(Stream.TRADES, "bybit", "BTC/USDT:USDT"))

    assert frame[["trade_id", "price", "amount", "side"]].values.tolist() == [
        ["9afd1288-b444-53f8-8e40-c2f99368ad22", 51444.4, 0.972, "buy"]
    ]


@pytest.mark.parametrize(
    "case",
    [
        ("binanceusdm", "XRP/USDT:USDT", 1637193600000, 1639785600000, 10, 90),
        ("bybit", "LTC/USDT:USDT", 1710374400000, 1710979200001, 4, 14),
    ],
    ids=["binanceusdm", "bybit"],
)
def test_ccxt_source_funding_rates_page_without_gaps(
    make_source: Callable[..., CcxtSource], shared_data: Path, case: tuple[str, str, int, int, int, int]
) -> None:
    name, symbol, start, end, page, count = case
    request = FetchRequest(Stream.FUNDING_RATES, name, symbol, at(start), at(end))

    frame, batches = collect(make_source(name, page_limit=page), request)

    assert [(ms(row.ts), row.rate) for row in frame.itertuples()] == recorded_funding(shared_data, name)
    assert len(frame) == count
    assert len(batches) >= 3


def recorded_funding(shared_data: Path, name: str) -> list[tuple[int, float]]:
    if name == "binanceusdm":
        rates = read_candles(shared_data / "freqtrade/tests/testdata/futures/XRP_USDT_USDT-8h-funding_rate.feather")
        return [(ts, rate) for ts, rate, *_ in rates if ts < 1639785600000]
    document = json.loads((shared_data / EXCERPTS / "bybit.excerpt.json").read_text())
    rows = document["methods"]["fetchFundingHistory"][0]["httpResponse"]["result"]["list"]
    return sorted((int(row["execTime"]), float(row["feeRate"])) for row in rows)


def test_ccxt_source_binanceusdm_funding_carries_mark_price(make_source: Callable[..., CcxtSource]) -> None:
    request = FetchRequest(Stream.FUNDING_RATES, "binanceusdm", "XRP/USDT:USDT", at(1637222400000), at(1637308800000))

    frame, _ = collect(make_source("binanceusdm"), request)

    assert frame["mark_price"].notna().all()
    assert frame["mark_price"].between(0.5, 2).all()


@pytest.mark.parametrize(
    "case",
    [
        ("binance", "BTC/USDT", [42574.3, 42574.2], 25445101),
        ("bybit", "BTC/USDT:USDT", [42544.7, 42544.5], 0),
        ("kraken", "BTC/USDT", [73380.6], 0),
        ("coinbase", "SKL/USD", None, 0),
    ],
    ids=["binance", "bybit", "kraken", "coinbase"],
)
def test_ccxt_source_book_snapshot_normalised(
    make_source: Callable[..., CcxtSource], binance_source: CcxtSource, case: tuple[str, str, list[float] | None, int]
) -> None:
    name, symbol, bids, sequence = case
    source = binance_source if name == "binance" else make_source(name)

    frame, _ = collect(source, FetchRequest(Stream.BOOK_SNAPSHOTS, name, symbol))

    row = frame.iloc[0]
    assert len(frame) == 1 and row["sequence"] == sequence
    assert bids is None or list(row["bid_prices"]) == bids
    assert list(row["ask_prices"]) == sorted(row["ask_prices"]) and row["bid_prices"][0] < row["ask_prices"][0]


BYBIT_RANGE = FetchRequest(
    Stream.OHLCV, "bybit", "BTC/USDT:USDT", at(1672677900000), at(1672677900000 + 240 * 300_000), "5m"
)


@pytest.fixture(scope="module")
def bybit_baseline(emulator: ExchangeEmulator) -> pd.DataFrame:
    """The fault-free answer to BYBIT_RANGE."""
    source = CcxtSource(venue("bybit"), api_base_url=emulator.base_url("bybit"), retry=FAST, page_limit=100)
    return collect(source, BYBIT_RANGE)[0]


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("429", {"count": 2}),
        ("5xx", {"count": 3}),
        ("timeout", {"count": 1, "latency_s": 0.5}),
        ("truncated_json", {"count": 2}),
        ("outage", {"count": 2}),
        ("latency", {"count": 3, "latency_s": 0.05}),
    ],
)
def test_ccxt_source_fault_kind_recovered_by_retries(
    emulator: ExchangeEmulator,
    make_source: Callable[..., CcxtSource],
    bybit_baseline: pd.DataFrame,
    kind: str,
    options: dict[str, Any],
) -> None:
    baseline = bybit_baseline
    source = make_source("bybit", page_limit=100, timeout_ms=250)
    emulator.inject(venue="bybit", kind=kind, path_contains="/kline", **options)

    frame, _ = collect(source, BYBIT_RANGE)

    pd.testing.assert_frame_equal(frame, baseline)
    assert len(baseline) == 240
    faults = [record.fault for record in emulator.requests if record.fault is not None]
    assert faults == [FaultKind(kind)] * options["count"]


def test_ccxt_source_exhausted_retries_raise_one_line_error(
    emulator: ExchangeEmulator, make_source: Callable[..., CcxtSource]
) -> None:
    source = make_source("bybit", retry=RetryPolicy(attempts=3, base_delay_s=0.01))
    source.fetch(FetchRequest(Stream.BOOK_SNAPSHOTS, "bybit", "BTC/USDT:USDT")).__next__()
    emulator.inject(venue="bybit", kind="5xx", count=100)

    with pytest.raises(FetchError) as raised:
        list(source.fetch(BYBIT_RANGE))

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("bybit fetch_ohlcv BTC/USDT:USDT 5m")
    assert "gave up after 3 attempts" in message and "ExchangeNotAvailable" in message
    assert len([record for record in emulator.requests if record.status == 503]) == 3


def test_ccxt_source_non_retryable_error_raises_immediately(
    emulator: ExchangeEmulator, make_source: Callable[..., CcxtSource]
) -> None:
    with pytest.raises(FetchError, match=r"BadSymbol.*\(not retried\)"):
        list(make_source("kraken").fetch(FetchRequest(Stream.OHLCV, "kraken", "DOGE/USDT", timeframe="1h")))


def test_ccxt_source_backoff_delays_grow_exponentially(
    emulator: ExchangeEmulator, make_source: Callable[..., CcxtSource]
) -> None:
    pauses: list[float] = []
    source = make_source("kraken", retry=RetryPolicy(attempts=5, base_delay_s=0.5, multiplier=2), sleep=pauses.append)
    emulator.inject(venue="kraken", kind="429", count=3)

    frame, _ = collect(source, FetchRequest(Stream.BOOK_SNAPSHOTS, "kraken", "BTC/USDT"))

    assert pauses == [0.5, 1.0, 2.0]
    assert len(frame) == 1


def test_ccxt_source_outage_window_recovered_after_it_ends(
    emulator: ExchangeEmulator, make_source: Callable[..., CcxtSource]
) -> None:
    source = make_source("bybit", page_limit=100, retry=RetryPolicy(attempts=8, base_delay_s=0.05, max_delay_s=0.2))
    source.fetch(FetchRequest(Stream.BOOK_SNAPSHOTS, "bybit", "BTC/USDT:USDT")).__next__()
    emulator.inject(kind="outage", duration=0.4)
    started = time.monotonic()

    frame, _ = collect(source, BYBIT_RANGE)

    assert len(frame) == 240
    assert time.monotonic() - started >= 0.4
    statuses = [record.status for record in emulator.requests if record.path == "/v5/market/kline"]
    assert statuses[0] == 0 and statuses[-1] == 200 and statuses.count(0) >= 2


def test_ccxt_source_rate_limiter_spaces_requests(
    emulator: ExchangeEmulator, make_source: Callable[..., CcxtSource]
) -> None:
    source = make_source("bybit", page_limit=60, rate_limit_ms=20)
    source.fetch(FetchRequest(Stream.BOOK_SNAPSHOTS, "bybit", "BTC/USDT:USDT")).__next__()
    emulator.reset_log()

    list(source.fetch(BYBIT_RANGE))

    moments = [record.at for record in emulator.requests if record.path == "/v5/market/kline"]
    assert len(moments) >= 4
    assert min(b - a for a, b in itertools.pairwise(moments)) >= 0.018


def test_ccxt_source_request_for_another_venue_refused(make_source: Callable[..., CcxtSource]) -> None:
    with pytest.raises(ValueError, match="cannot answer"):
        list(make_source("kraken").fetch(FetchRequest(Stream.OHLCV, "bybit", "BTC/USDT", timeframe="1h")))


def test_normalise_bars_bad_rows_rejected_with_reason() -> None:
    rows = [
        [1706630400000, 43519.34, 43936.0, 43171.0, 43488.71, 20.55],
        [1706634000000, 43488.71, 43000.0, 43084.0, 43374.8, 21.8],
        [1706634000, 43488.71, 43832.08, 43084.0, 43374.8, 21.8],
        [1706637600000, 43374.81, 44048.0, 43062.0, None, 23.6],
        [1706641200000, 43374.81, 44048.0, 43062.0, 43361.11, -1],
    ]

    good, bad = ccxt_normalise.bars("ccxt:binance", "binance", "BTC/USDT", "1h", rows)

    assert [bar.close for bar in good] == [43488.71]
    assert [rejection.reason for rejection in bad] == [
        "high 43000.0 is below low 43084.0",
        "timestamp 1706634000 predates 2009-01-03 (seconds instead of milliseconds?)",
        "close is missing",
        "volume -1.0 is negative",
    ]
    assert bad[0].record == {"row": rows[1]} and bad[0].stream is Stream.OHLCV


def test_normalise_trades_and_book_bad_input_rejected() -> None:
    trades = [
        {"id": "1", "timestamp": 1710327661939, "price": 73238.7, "amount": 0.00109, "side": "buy"},
        {"id": None, "timestamp": 1710327661939, "price": 73238.7, "amount": 0.00109, "side": "buy"},
        {"id": "3", "timestamp": 1710327661939, "price": 73238.7, "amount": 0.0, "side": "buy"},
    ]
    crossed = {"bids": [[101.0, 1.0]], "asks": [[100.0, 1.0]], "timestamp": 1710327661939, "nonce": None}

    good, bad = ccxt_normalise.trades("s", "v", "BTC/USDT", trades)
    books, book_bad = ccxt_normalise.book_snapshot("s", "v", "BTC/USDT", crossed, 1710327661939)

    assert [trade.trade_id for trade in good] == ["1"]
    assert [rejection.reason for rejection in bad] == ["trade has no id", "amount 0.0 is not positive"]
    assert books == [] and "crossed book" in book_bad[0].reason


def test_forward_pages_row_without_timestamp_passed_on_for_rejection() -> None:
    rows = [
        {"id": "2", "timestamp": 2_000_000_000_000, "price": 1.0, "amount": 1.0, "side": "buy"},
        {"id": "x", "timestamp": None, "price": 1.0, "amount": 1.0, "side": "buy"},
        {"id": "1", "timestamp": 1_999_999_999_000, "price": 1.0, "amount": 1.0, "side": "sell"},
    ]

    pages = list(
        forward_pages(
            lambda since, size: rows,
            ts_of=lambda row: int(row["timestamp"]),
            key_of=lambda row: row["id"],
            start=1_999_999_999_000,
            end=2_000_000_000_001,
            limit=10,
            advance=lambda ts: ts,
            window=None,
        )
    )
    good, bad = ccxt_normalise.trades("s", "v", "BTC/USDT", pages[0])

    assert [[row["id"] for row in page] for page in pages] == [["1", "2", "x"]]
    assert [trade.trade_id for trade in good] == ["1", "2"]
    assert [rejection.reason for rejection in bad] == ["timestamp None is not a number"]
