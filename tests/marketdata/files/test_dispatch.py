"""Choosing the reader, one-line errors for unreadable files, and the `Source` behaviour of file sources."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.marketdata.files.support import read_all, utc
from traider.marketdata.files import (
    CryptofeedSource,
    CsvSource,
    FileFormatError,
    FreqtradeSource,
    TableSource,
    TardisCsvSource,
    open_file_source,
)
from traider.marketdata.records import Stream
from traider.marketdata.source import FetchRequest, Source

TESTDATA = "freqtrade/tests/testdata"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (f"{TESTDATA}/UNITTEST_BTC-1m.json", FreqtradeSource),
        (f"{TESTDATA}/XRP_ETH-trades.parquet", FreqtradeSource),
        (f"{TESTDATA}/orderflow/populate_dataframe_with_trades_DF.feather", TableSource),
        (f"{TESTDATA}/kraken/trades_csv/BCHEUR.csv", CsvSource),
        ("nautilus_trader/tests/test_data/tardis/trades.csv", TardisCsvSource),
        ("cryptofeed/sample_data/BYBIT.ws.26.0", CryptofeedSource),
    ],
)
def test_open_file_source_known_formats_choose_their_reader(shared_data: Path, name: str, kind: type) -> None:
    source = open_file_source(shared_data / name, venue="v")
    assert type(source) is kind
    assert isinstance(source, Source)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ABC_USDT-1m.json", b"", "is empty"),
        ("ABC_USDT-1m.feather", b"", "is empty"),
        ("candles.csv", b"", "is empty"),
        ("ABC_USDT-1m.json", b"[[1509836520000, 1.0, 2.0, 0.5, 1.5, 10.0], [150983", "not valid JSON"),
        ("ABC_USDT-1m.json.gz", gzip.compress(b"[[1509836520000, 1.0, 2.0, 0.5, 1.5, 10.0]]")[:-12], "truncated"),
        ("ABC_USDT-1m.json.gz", b"definitely not gzip", "corrupt gzip"),
        ("ABC_USDT-1m.json.gz", gzip.compress(b"   "), "is empty"),
        ("ABC_USDT-1m.json", b'{"a": 1, "b": [1, 2]}', "lacks the time column"),
        ("ABC_USDT-1m.json", b'{"a": [1], "b": [1, 2]}', "not a table of columns"),
        ("ABC_USDT-1m.json", b'"text"', "not a list of candles or trades"),
        ("ABC_USDT-1m.json", b"[[1, 2, 3]]", "arrays of 3 values"),
        ("ABC_USDT-1m.feather", b"not arrow at all", "not a readable feather file"),
        ("ABC_USDT-1m.parquet", b"PAR1 broken", "not a readable parquet file"),
        ("notes.txt", b"hello", "unrecognised market-data format"),
        ("ABC_USDT-1m.h5", b"\x89HDF", "needs the 'tables' package"),
    ],
)
def test_open_file_source_broken_files_fail_with_one_line_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message) as error:
        read_all(open_file_source(path, venue="sim"))
    assert "\n" not in str(error.value)


def test_open_file_source_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="does not exist"):
        open_file_source(tmp_path / "nowhere.csv")


def test_file_source_batches_are_bounded_and_rejections_come_once(tmp_path: Path) -> None:
    rows: list[list[Any]] = [[1509836520000 + minute * 60_000, 1.0, 2.0, 0.5, 1.5, 10.0] for minute in range(2500)]
    rows[1234][1] = "bad"
    path = tmp_path / "ABC_USDT-1m.json"
    path.write_text(json.dumps(rows))
    batches = list(open_file_source(path, venue="sim", batch_rows=1000).read())
    assert [len(batch.frame) for batch in batches] == [1000, 1000, 499]
    assert [len(batch.rejections) for batch in batches] == [1, 0, 0]
    assert sum(batch.rows_in for batch in batches) == 2500


def test_file_source_unsorted_file_is_yielded_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text("timestamp,id,side,price,amount\n1700000002000,2,buy,10,1\n1700000001000,1,sell,10,1\n")
    frame = read_all(open_file_source(path, venue="sim", symbol="X/Y")).frame
    assert frame["trade_id"].tolist() == ["1", "2"]


def test_file_source_fetch_filters_symbol_window_and_fills_identity(shared_data: Path) -> None:
    source = open_file_source(shared_data / "nautilus_trader/tests/test_data/tardis/trades.csv")
    request = FetchRequest(
        stream=Stream.TRADES,
        venue="binanceusdm",
        symbol="BTC/USDT",  # compared loosely with the file's BTCUSDT
        start=datetime(2020, 2, 22, 0, 30),  # naive times are UTC
        end=datetime(2020, 2, 22, 1, 0),
    )
    frames = [batch.frame for batch in source.fetch(request)]
    total = sum(len(frame) for frame in frames)
    assert total > 0
    for frame in frames:
        assert frame["ts"].min() >= utc("2020-02-22 00:30") and frame["ts"].max() < utc("2020-02-22 01:00")
        assert set(frame["venue"]) == {"binance-futures"}  # the file records its venue: the request does not override
    other = FetchRequest(stream=Stream.TRADES, venue="binanceusdm", symbol="ETH/USDT")
    assert sum(len(batch.frame) for batch in source.fetch(other)) == 0


def test_file_source_fetch_takes_missing_identity_from_the_request(shared_data: Path) -> None:
    source = open_file_source(shared_data / "jesse/tests/data_extracted/test_candles_1__test_candles_1.csv")
    request = FetchRequest(stream=Stream.OHLCV, venue="bitfinex", symbol="ETH/USD", timeframe="1m")
    frames = [batch.frame for batch in source.fetch(request)]
    assert sum(len(frame) for frame in frames) == 55
    assert set(frames[0]["venue"]) == {"bitfinex"} and set(frames[0]["timeframe"]) == {"1m"}


def test_file_source_fetch_of_a_stream_the_file_lacks_is_a_one_line_error(shared_data: Path) -> None:
    source = open_file_source(shared_data / f"{TESTDATA}/XRP_ETH-trades.feather", venue="binance")
    request = FetchRequest(stream=Stream.OHLCV, venue="binance", symbol="XRP/ETH", timeframe="1m")
    with pytest.raises(FileFormatError, match="holds trades, not ohlcv"):
        list(source.fetch(request))


@pytest.mark.parametrize(
    ("name", "stream"),
    [
        (f"{TESTDATA}/UNITTEST_BTC-1m.feather", None),
        (f"{TESTDATA}/XRP_ETH-trades.json.gz", None),
        (f"{TESTDATA}/futures/XRP_USDT_USDT-8h-funding_rate.feather", None),
        ("nautilus_trader/tests/test_data/tardis/binance-futures_book_snapshot_25_BTCUSDT.csv", None),
        ("cryptofeed/sample_data/COINBASE.ws.28.0", Stream.BOOK_DELTAS),
        ("cryptofeed/sample_data/BINANCE.http.0.0", None),
    ],
)
def test_file_source_real_files_pass_the_loader_row_validation(shared_data: Path, name: str, stream: Stream) -> None:
    from traider.marketdata.validation import validate

    for batch in open_file_source(shared_data / name, venue="binance").read(stream):
        result = validate(batch.stream, batch.frame, source=batch.source)
        assert result.rejections == () and len(result.valid) == len(batch.frame)
