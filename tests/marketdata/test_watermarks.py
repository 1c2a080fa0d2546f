"""Ingest watermarks in market.ingest_watermarks, and resuming a ccxt fetch from one after an interruption."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from traider.marketdata.ccxt_client import RetryPolicy
from traider.marketdata.ccxt_source import CcxtSource
from traider.marketdata.emulator import ExchangeEmulator
from traider.marketdata.emulator.data import read_candles
from traider.marketdata.records import Stream
from traider.marketdata.source import FetchRequest
from traider.marketdata.venues import VenueConfig
from traider.marketdata.watermarks import advance_watermark, resume_start

T0 = datetime(2024, 1, 30, 16, tzinfo=UTC)


@pytest.fixture(scope="module")
def emulator(shared_data: Path) -> Iterator[ExchangeEmulator]:
    with ExchangeEmulator(shared_data, venues=("binance",)) as emu:
        yield emu


def test_resume_start_without_watermark_returns_default(clean_tables: Engine) -> None:
    with clean_tables.begin() as connection:
        assert resume_start(connection, "binance", "BTC/USDT", Stream.OHLCV, "1h") is None
        assert resume_start(connection, "binance", "BTC/USDT", Stream.OHLCV, "1h", default=T0) == T0


def test_advance_watermark_moves_forward_never_backwards(clean_tables: Engine) -> None:
    with clean_tables.begin() as connection:
        first = advance_watermark(connection, "binance", "BTC/USDT", Stream.OHLCV, "1h", last_ts=T0)
        later = advance_watermark(
            connection, "binance", "BTC/USDT", Stream.OHLCV, "1h", last_ts=T0 + timedelta(hours=2)
        )
        rewound = advance_watermark(connection, "binance", "BTC/USDT", Stream.OHLCV, "1h", last_ts=T0)

    with clean_tables.begin() as connection:
        stored = resume_start(connection, "binance", "BTC/USDT", Stream.OHLCV, "1h")
        rows = connection.execute(text("SELECT count(*) FROM market.ingest_watermarks")).scalar_one()
    assert (first, later, rewound, stored) == (T0, T0 + timedelta(hours=2), T0 + timedelta(hours=2), later)
    assert rows == 1


def test_advance_watermark_keeps_streams_and_timeframes_apart(clean_tables: Engine) -> None:
    with clean_tables.begin() as connection:
        advance_watermark(connection, "bybit", "BTC/USDT:USDT", Stream.OHLCV, "1m", last_ts=T0)
        advance_watermark(connection, "bybit", "BTC/USDT:USDT", Stream.OHLCV, "1h", last_ts=T0 + timedelta(days=1))
        advance_watermark(connection, "bybit", "BTC/USDT:USDT", "funding_rates", None, last_ts=T0 + timedelta(days=2))

        assert resume_start(connection, "bybit", "BTC/USDT:USDT", Stream.OHLCV, "1m") == T0
        assert resume_start(connection, "bybit", "BTC/USDT:USDT", Stream.OHLCV, "1h") == T0 + timedelta(days=1)
        assert resume_start(connection, "bybit", "BTC/USDT:USDT", Stream.FUNDING_RATES) == T0 + timedelta(days=2)


def test_advance_watermark_naive_datetime_raises(clean_tables: Engine) -> None:
    with clean_tables.begin() as connection, pytest.raises(ValueError, match="timezone-aware"):
        advance_watermark(connection, "binance", "BTC/USDT", Stream.TRADES, None, last_ts=datetime(2024, 1, 1))


def test_watermark_resume_after_interruption_fetches_rest_without_gap(
    clean_tables: Engine, emulator: ExchangeEmulator, shared_data: Path
) -> None:
    candles = read_candles(shared_data / "freqtrade/tests/testdata/XRP_ETH-1m.feather")[:1000]
    start, end = (
        datetime.fromtimestamp(candles[0][0] / 1000, UTC),
        datetime.fromtimestamp(candles[-1][0] / 1000 + 60, UTC),
    )
    config = VenueConfig(name="binance", ccxt_id="binance", market_type="spot", symbols=("XRP/ETH",), rate_limit_ms=1)
    source = CcxtSource(
        config, api_base_url=emulator.base_url("binance"), retry=RetryPolicy(base_delay_s=0.01), page_limit=150
    )
    stored: list[pd.DataFrame] = []

    def run(from_ts: datetime, *, stop_after: int | None = None) -> None:
        request = FetchRequest(Stream.OHLCV, "binance", "XRP/ETH", from_ts, end, "1m")
        for number, batch in enumerate(source.fetch(request), 1):
            with clean_tables.begin() as connection:
                stored.append(batch.frame)
                advance_watermark(connection, "binance", "XRP/ETH", Stream.OHLCV, "1m", last_ts=batch.frame["ts"].max())
            if number == stop_after:
                return

    with clean_tables.begin() as connection:
        first_start = resume_start(connection, "binance", "XRP/ETH", Stream.OHLCV, "1m", default=start)
    run(first_start or start, stop_after=3)
    with clean_tables.begin() as connection:
        watermark = resume_start(connection, "binance", "XRP/ETH", Stream.OHLCV, "1m")
    assert watermark == stored[-1]["ts"].max()
    run(watermark or start)

    everything = pd.concat(stored, ignore_index=True)
    stamps = [round(ts.timestamp() * 1000) for ts in everything["ts"]]
    assert sorted(set(stamps)) == [candle[0] for candle in candles]
    assert len(stamps) - len(set(stamps)) == 1  # the watermark bar is fetched again, nothing else
