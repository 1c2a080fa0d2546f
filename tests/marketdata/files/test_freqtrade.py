"""freqtrade data files: candles, trades, funding rates and mark candles in every freqtrade format."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.marketdata.files.support import read_all, utc
from traider.marketdata.files import FileFormatError, FreqtradeSource, open_file_source
from traider.marketdata.records import Stream

TESTDATA = "freqtrade/tests/testdata"

CANDLE_FILES = [
    # file, rows, first ts, last ts (README "rows" and time range)
    ("ADA_BTC-5m.feather", 5720, "2018-01-10 04:55", "2018-01-30 04:50"),
    ("DASH_BTC-5m.feather", 5758, "2018-01-10 04:55", "2018-01-30 04:50"),
    ("ETC_BTC-5m.feather", 5759, "2018-01-10 04:55", "2018-01-30 04:45"),
    ("ETH_BTC-5m.feather", 5760, "2018-01-10 04:55", "2018-01-30 04:50"),
    ("LTC_BTC-5m.feather", 5760, "2018-01-10 04:55", "2018-01-30 04:50"),
    ("TRX_BTC-5m.feather", 5754, "2018-01-10 04:55", "2018-01-30 04:50"),
    ("UNITTEST_BTC-1m.feather", 13681, "2017-11-04 23:02", "2017-11-14 22:59"),
    ("UNITTEST_BTC-1m.json", 13681, "2017-11-04 23:02", "2017-11-14 22:59"),
    ("UNITTEST_BTC-8m.json.gz", 13681, "2017-11-04 23:02", "2017-11-14 22:59"),
    ("UNITTEST_BTC-30m.feather", 1920, "2017-12-03 13:00", "2018-01-12 12:30"),
    ("UNITTEST_BTC-5m.feather", 5760, "2018-01-10 04:55", "2018-01-30 04:50"),
    ("XRP_ETH-1m.feather", 2469, "2019-10-11 00:00", "2019-10-13 11:19"),
    ("XRP_ETH-5m.feather", 706, "2019-10-11 00:00", "2019-10-13 11:15"),
    ("futures/XRP_USDT_USDT-1h-futures.feather", 100, "2021-11-17 01:00", "2021-11-21 04:00"),
    ("futures/XRP_USDT_USDT-1h-futures.json.gz", 100, "2021-11-17 01:00", "2021-11-21 04:00"),
    ("futures/XRP_USDT_USDT-5m-futures.feather", 1999, "2021-11-15 00:00", "2021-11-21 22:30"),
    ("futures/XRP_USDT_USDT-1h-mark.feather", 100, "2021-11-15 06:00", "2021-11-19 09:00"),
    ("futures/UNITTEST_USDT_USDT-1h-mark.feather", 100, "2021-11-15 07:00", "2021-11-19 10:00"),
    ("futures/XRP_USDT_USDT-8h-mark.feather", 91, "2021-11-18 00:00", "2021-12-18 00:00"),
]


@pytest.mark.parametrize(("name", "rows", "first", "last"), CANDLE_FILES)
def test_freqtrade_candles_every_file_reads_all_rows_in_time_order(
    shared_data: Path, name: str, rows: int, first: str, last: str
) -> None:
    read = read_all(open_file_source(shared_data / TESTDATA / name, venue="binance"))
    assert len(read.frame) == rows
    assert read.rejections == ()
    assert read.frame["ts"].iloc[0] == utc(first)
    assert read.frame["ts"].iloc[-1] == utc(last)
    assert (read.frame["venue"] == "binance").all()


def test_freqtrade_candles_file_name_gives_symbol_and_timeframe(shared_data: Path) -> None:
    spot = read_all(open_file_source(shared_data / TESTDATA / "XRP_ETH-5m.feather", venue="binance"))
    futures = read_all(open_file_source(shared_data / TESTDATA / "futures/XRP_USDT_USDT-1h-futures.feather", venue="b"))
    mark = read_all(open_file_source(shared_data / TESTDATA / "futures/XRP_USDT_USDT-1h-mark.feather", venue="b"))
    assert set(spot.frame["symbol"]) == {"XRP/ETH"} and set(spot.frame["timeframe"]) == {"5m"}
    assert set(futures.frame["symbol"]) == {"XRP/USDT:USDT"} and set(futures.frame["timeframe"]) == {"1h"}
    assert set(mark.frame["symbol"]) == {"XRP/USDT:USDT#mark"}
    assert (mark.frame["volume"] == 0.0).all()  # mark candles record no volume


def test_freqtrade_candles_caller_symbol_overrides_file_name(shared_data: Path) -> None:
    source = open_file_source(shared_data / TESTDATA / "UNITTEST_BTC-5m.feather", venue="binance", symbol="ETH/BTC")
    assert set(read_all(source).frame["symbol"]) == {"ETH/BTC"}


def test_freqtrade_candles_json_and_feather_of_same_candles_are_equal(shared_data: Path) -> None:
    from_json = read_all(open_file_source(shared_data / TESTDATA / "UNITTEST_BTC-1m.json", venue="v")).frame
    from_feather = read_all(open_file_source(shared_data / TESTDATA / "UNITTEST_BTC-1m.feather", venue="v")).frame
    from_gzip = read_all(open_file_source(shared_data / TESTDATA / "UNITTEST_BTC-8m.json.gz", venue="v")).frame
    pd.testing.assert_frame_equal(from_json, from_feather)
    pd.testing.assert_frame_equal(from_json.drop(columns="timeframe"), from_gzip.drop(columns="timeframe"))
    first = from_json.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"]) == (0.00162008,) * 4
    assert first["volume"] == 108.14853839


def test_freqtrade_futures_candles_json_gz_equals_feather(shared_data: Path) -> None:
    futures = f"{TESTDATA}/futures/XRP_USDT_USDT-1h-futures"
    from_json = read_all(open_file_source(shared_data / f"{futures}.json.gz", venue="v")).frame
    from_feather = read_all(open_file_source(shared_data / f"{futures}.feather", venue="v")).frame
    pd.testing.assert_frame_equal(from_json, from_feather)
    assert from_json.iloc[0][["open", "high", "low", "close"]].tolist() == [1.0801, 1.09758, 1.07654, 1.07925]


@pytest.mark.parametrize("name", ["XRP_ETH-trades.feather", "XRP_ETH-trades.parquet", "XRP_ETH-trades.json.gz"])
def test_freqtrade_trades_every_format_reads_the_12477_binance_trades(shared_data: Path, name: str) -> None:
    read = read_all(open_file_source(shared_data / TESTDATA / name, venue="binance"))
    frame = read.frame
    assert len(frame) == 12477 and read.rejections == ()
    first, last = frame.iloc[0], frame.iloc[-1]
    assert first["ts"] == utc("2019-10-11 00:00:11.620")
    assert (first["symbol"], first["trade_id"], first["side"]) == ("XRP/ETH", "13519807", "sell")
    assert (first["price"], first["amount"]) == (0.00141342, 23.0)
    assert last["ts"] == utc("2019-10-13 11:19:28.844") and last["trade_id"] == "13532283"


def test_freqtrade_trades_ccxt_dicts_equal_the_array_format(shared_data: Path) -> None:
    dicts = read_all(open_file_source(shared_data / TESTDATA / "XRP_OLD-trades.json.gz", venue="binance")).frame
    arrays = read_all(open_file_source(shared_data / TESTDATA / "XRP_ETH-trades.feather", venue="binance")).frame
    assert set(dicts["symbol"]) == {"XRP/ETH"}  # the dicts record their symbol, whatever the file name says
    pd.testing.assert_frame_equal(dicts, arrays)


def test_freqtrade_funding_rate_takes_rate_from_open_and_mark_from_sibling(shared_data: Path) -> None:
    source = open_file_source(shared_data / TESTDATA / "futures/XRP_USDT_USDT-8h-funding_rate.feather", venue="binance")
    assert source.streams == frozenset({Stream.FUNDING_RATES})
    frame = read_all(source).frame
    marks = read_all(
        open_file_source(shared_data / TESTDATA / "futures/XRP_USDT_USDT-8h-mark.feather", venue="b")
    ).frame
    assert len(frame) == 91
    assert frame["rate"].min() == pytest.approx(-0.00219334) and frame["rate"].median() == 0.0001
    assert frame["ts"].iloc[0] == utc("2021-11-18 00:00:00.017")
    assert set(frame["symbol"]) == {"XRP/USDT:USDT"}
    # each funding time takes the open of the 8h mark candle it falls in
    assert frame["mark_price"].tolist() == marks["open"].tolist()
    assert frame["mark_price"].iloc[0] == 1.0959


def test_freqtrade_funding_rate_without_mark_file_has_no_mark_price(shared_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "XRP_USDT_USDT-8h-funding_rate.feather"
    copy.write_bytes((shared_data / TESTDATA / "futures/XRP_USDT_USDT-8h-funding_rate.feather").read_bytes())
    frame = read_all(FreqtradeSource(copy, venue="binance")).frame
    assert len(frame) == 91 and frame["mark_price"].isna().all()


def test_freqtrade_orderflow_candles_json_in_columns_orient_reads_with_caller_identity(shared_data: Path) -> None:
    source = open_file_source(shared_data / TESTDATA / "orderflow/candles.json", venue="binance", symbol="BTC/USDT")
    with pytest.raises(FileFormatError, match="does not record the timeframe"):
        read_all(source)
    frame = read_all(open_file_source(source.path, venue="binance", symbol="BTC/USDT", timeframe="5m")).frame
    assert len(frame) == 10999
    assert frame["ts"].iloc[0] == utc("2023-01-02 16:45") and frame["ts"].iloc[-1] == utc("2023-02-09 21:15")


@pytest.mark.parametrize("name", ["UNITTEST_BTC-5m.h5", "XRP_ETH-trades.h5", "futures/UNITTEST_USDT_USDT-1h-mark.h5"])
def test_freqtrade_hdf5_is_refused_naming_the_missing_package(shared_data: Path, name: str) -> None:
    with pytest.raises(FileFormatError, match="needs the 'tables' package") as error:
        open_file_source(shared_data / TESTDATA / name)
    assert "\n" not in str(error.value)
    with pytest.raises(FileFormatError, match="needs the 'tables' package"):
        FreqtradeSource(shared_data / TESTDATA / name, venue="binance")


def test_freqtrade_json_rows_of_wrong_shape_and_type_are_rejected_and_counted(tmp_path: Path) -> None:
    rows = [
        [1509836520000, 1.0, 2.0, 0.5, 1.5, 10.0],
        [1509836580000, 1.0, 2.0, 0.5, 1.5],  # five values
        "not a row",
        [1509836640000, "abc", 2.0, 0.5, 1.5, 10.0],  # text price
        [1509836700000, -1.0, 2.0, 0.5, 1.5, 10.0],  # negative price
        [None, 1.0, 2.0, 0.5, 1.5, 10.0],  # no time
        [1509836760000, 1.0, 2.0, 0.5, 1.5, -3.0],  # negative volume
        [1509836820000, 1.0, 2.0, 0.5, 1.5, 4.0],
    ]
    path = tmp_path / "ABC_USDT-1m.json.gz"
    path.write_bytes(gzip.compress(json.dumps(rows).encode()))
    read = read_all(open_file_source(path, venue="sim"))
    assert len(read.frame) + len(read.rejections) == len(rows)
    assert len(read.frame) == 2
    reasons = sorted(rejection.reason for rejection in read.rejections)
    assert reasons == sorted(
        [
            "row is not an array of 6 values",
            "row is not an array of 6 values",
            "open is not a number",
            "open not positive",
            "timestamp missing",
            "volume negative",
        ]
    )
    assert {rejection.stream for rejection in read.rejections} == {Stream.OHLCV}
    json.dumps([dict(rejection.record) for rejection in read.rejections])  # quarantine stores them as JSON


def test_freqtrade_trades_feather_missing_amount_column_is_a_one_line_error(shared_data: Path, tmp_path: Path) -> None:
    frame = pd.read_feather(shared_data / TESTDATA / "XRP_ETH-trades.feather").drop(columns=["amount"])
    path = tmp_path / "XRP_ETH-trades.feather"
    frame.to_feather(path)
    with pytest.raises(FileFormatError, match="lacks the amount column") as error:
        read_all(open_file_source(path, venue="binance"))
    assert "\n" not in str(error.value)


def test_freqtrade_trades_parquet_text_prices_are_rejected_not_fatal(shared_data: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(shared_data / TESTDATA / "XRP_ETH-trades.parquet").head(5)
    frame["price"] = frame["price"].astype(object)
    frame.loc[1, "price"] = "n/a"
    frame.loc[2, "price"] = float("nan")
    frame["extra"] = "ignored"
    path = tmp_path / "XRP_ETH-trades.parquet"
    frame.astype({"price": str}).to_parquet(path)
    read = read_all(open_file_source(path, venue="binance"))
    assert len(read.frame) == 3
    assert sorted(rejection.reason for rejection in read.rejections) == ["price is not a number", "price missing"]
    assert list(read.frame["trade_id"]) == ["13519807", "13519810", "13519811"]
