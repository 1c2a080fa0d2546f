"""Candle and trade CSVs: jesse, nautilus/Binance kline dumps, Kraken trade dumps, freqtrade trade lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.marketdata.files.support import read_all, utc
from traider.marketdata.files import CsvSource, FileFormatError, open_file_source
from traider.marketdata.records import Stream

JESSE = "jesse/tests/data_extracted"
NAUTILUS = "nautilus_trader/tests/test_data"
KRAKEN = "freqtrade/tests/testdata/kraken/trades_csv"
ORDERFLOW = "freqtrade/tests/testdata/orderflow"


@pytest.mark.parametrize(
    ("name", "rows", "first", "last"),
    [
        ("test_candles_0__test_candles_0.csv", 1382, "2019-03-29 00:00", "2019-03-29 23:59"),
        ("test_candles_1__test_candles_1.csv", 55, "2019-01-11 09:55", "2019-01-11 10:50"),
        ("test_candles_indicators__test_candles_19.csv", 239, "2019-07-18", "2020-03-12"),
        ("test_candles_indicators__test_candles_btc.csv", 300, "2023-01-15 06:43", "2023-01-15 11:42"),
        ("test_candles_indicators__test_candles_sol.csv", 300, "2023-01-01 00:00", "2023-01-01 04:59"),
        ("test_candles_indicators__wavetrend_candles.csv", 240, "2021-06-29 10:00", "2021-07-19 08:00"),
    ],
)
def test_csv_jesse_candles_read_with_caller_identity(
    shared_data: Path, name: str, rows: int, first: str, last: str
) -> None:
    source = open_file_source(shared_data / JESSE / name, venue="bitfinex", symbol="ETH/USD", timeframe="1m")
    assert isinstance(source, CsvSource) and source.streams == frozenset({Stream.OHLCV})
    read = read_all(source)
    assert len(read.frame) == rows and read.rejections == ()
    assert read.frame["ts"].iloc[0] == utc(first) and read.frame["ts"].iloc[-1] == utc(last)


def test_csv_jesse_candles_keep_exact_values(shared_data: Path) -> None:
    path = shared_data / JESSE / "test_candles_1__test_candles_1.csv"
    first = read_all(open_file_source(path, venue="bitfinex", symbol="ETH/USD", timeframe="1m")).frame.iloc[0]
    assert first[["open", "high", "low", "close", "volume"]].tolist() == [129.18, 129.3, 129.0, 129.07, 995.73470363]


def test_csv_jesse_candles_without_venue_is_a_one_line_error(shared_data: Path) -> None:
    source = open_file_source(shared_data / JESSE / "test_candles_1__test_candles_1.csv", symbol="X", timeframe="1m")
    with pytest.raises(FileFormatError, match="does not record the venue: pass venue="):
        read_all(source)


@pytest.mark.parametrize(("name", "rows"), [("ADABTC-1m-2021-11-27.csv", 10), ("ADABTC-1m-2021-11-28.csv", 11)])
def test_csv_binance_kline_dump_takes_identity_from_file_name(shared_data: Path, name: str, rows: int) -> None:
    frame = read_all(open_file_source(shared_data / NAUTILUS / name)).frame
    assert len(frame) == rows
    assert (
        set(frame["venue"]) == {"binance"} and set(frame["symbol"]) == {"ADABTC"} and set(frame["timeframe"]) == {"1m"}
    )
    assert frame["ts"].diff().dropna().eq(frame["ts"].iloc[1] - frame["ts"].iloc[0]).all()


def test_csv_binance_kline_dump_keeps_exact_values(shared_data: Path) -> None:
    first = read_all(open_file_source(shared_data / NAUTILUS / "ADABTC-1m-2021-11-27.csv")).frame.iloc[0]
    assert first["ts"] == utc("2021-11-27 00:00")
    assert first[["open", "high", "low", "close", "volume"]].tolist() == [
        2.853e-05,
        2.854e-05,
        2.851e-05,
        2.854e-05,
        36304.2,
    ]


def test_csv_btc_perp_text_timestamps_read_in_bounded_batches(shared_data: Path) -> None:
    path = shared_data / NAUTILUS / "btc-perp-20211231-20220201_1m.csv"
    source = open_file_source(path, venue="ftx", symbol="BTC-PERP", timeframe="1m", batch_rows=10_000)
    read = read_all(source)
    assert len(read.frame) == 45031 and read.rejections == ()
    assert read.batches == 5
    assert read.frame["ts"].iloc[0] == utc("2021-12-31 23:01") and read.frame["ts"].iloc[-1] == utc("2022-02-01 05:31")
    assert read.frame.iloc[0][["open", "high", "low", "close"]].tolist() == [46319.0, 46385.0, 46319.0, 46377.0]


@pytest.mark.parametrize(
    ("name", "rows", "first", "last"),
    [
        ("BCHEUR.csv", 148, "2023-01-01 00:03:56", "2023-01-01 23:19:47"),
        ("incremental_q2/BCHEUR.csv", 486, "2023-01-02 00:48:56", "2023-01-02 23:17:03"),
    ],
)
def test_csv_kraken_trades_dump_reads_with_venue_symbol_and_synthetic_ids(
    shared_data: Path, name: str, rows: int, first: str, last: str
) -> None:
    frame = read_all(open_file_source(shared_data / KRAKEN / name)).frame
    assert len(frame) == rows
    assert set(frame["venue"]) == {"kraken"} and set(frame["symbol"]) == {"BCHEUR"}
    assert frame["side"].isna().all()
    assert frame["trade_id"].is_unique
    assert frame["ts"].iloc[0] == utc(first) and frame["ts"].iloc[-1] == utc(last)


def test_csv_kraken_trade_ids_are_stable_across_chunk_boundaries(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "XBTEUR.csv"
    path.write_text("1672531436,90.5,1.0\n1672531436,90.6,2.0\n1672531436,90.7,3.0\n1672531437,91.0,1.0\n")
    whole = read_all(CsvSource(path)).frame["trade_id"].tolist()
    chunked = read_all(CsvSource(path, batch_rows=2)).frame["trade_id"].tolist()
    assert (
        whole
        == chunked
        == [
            "1672531436000000-0",
            "1672531436000000-1",
            "1672531436000000-2",
            "1672531437000000-0",
        ]
    )


def test_csv_kraken_first_trade_keeps_exact_values(shared_data: Path) -> None:
    first = read_all(open_file_source(shared_data / KRAKEN / "BCHEUR.csv")).frame.iloc[0]
    assert (first["price"], first["amount"]) == (90.54, 1.1044842)


def test_csv_freqtrade_public_trades_list_reads_1000_trades(shared_data: Path) -> None:
    source = open_file_source(shared_data / ORDERFLOW / "public_trades_list.csv", venue="binance", symbol="ETH/USDT")
    assert source.streams == frozenset({Stream.TRADES})
    frame = read_all(source).frame
    assert len(frame) == 1000
    first = frame.iloc[0]
    assert (first["trade_id"], first["side"], first["price"], first["amount"]) == ("1206419187", "buy", 1666.8, 26.062)
    assert first["ts"] == utc("2023-02-02 09:20:00.138") and frame["ts"].iloc[-1] == utc("2023-02-02 09:23:27.493")


def test_csv_freqtrade_trades_with_padded_values_are_stripped(shared_data: Path) -> None:
    path = shared_data / ORDERFLOW / "public_trades_list_simple_example.csv"
    frame = read_all(open_file_source(path, venue="binance", symbol="BTC/USDT")).frame
    assert len(frame) == 7
    assert frame["side"].tolist() == ["buy", "sell", "sell", "sell", "buy", "sell", "sell"]
    assert frame["trade_id"].iloc[0] == "1588563957"


def test_csv_malformed_rows_are_rejected_with_reasons_and_accounted(tmp_path: Path) -> None:
    path = tmp_path / "candles.csv"
    path.write_text(
        "timestamp_ms,open,high,low,close,volume,comment\n"
        "1700000000000,10,11,9,10.5,100,fine\n"
        "1700000060000,abc,11,9,10.5,100,text price\n"
        "1700000120000,NaN,11,9,10.5,100,nan price\n"
        "1700000180000,-10,11,9,10.5,100,negative price\n"
        ",10,11,9,10.5,100,no time\n"
        "yesterday,10,11,9,10.5,100,garbage time\n"
        "1700000300000,10,11,9,10.5,inf,infinite volume\n"
        "1700000360000,10,11,9,10.5,,no volume\n"
        "1700000420000,10,11,9,10.5,1,fine\n"
    )
    read = read_all(open_file_source(path, venue="sim", symbol="X/Y", timeframe="1m"))
    assert len(read.frame) + len(read.rejections) == 9
    assert len(read.frame) == 2
    assert [rejection.reason for rejection in read.rejections] == [
        "open is not a number",
        "open is not a number",
        "open not positive",
        "timestamp missing",
        "timestamp is not a time",
        "volume is not finite",
        "volume missing",
    ]
    assert read.rejections[0].record["open"] == "abc"
    assert read.rejections[0].record["comment"] == "text price"


def test_csv_missing_required_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "candles.csv"
    path.write_text("time,open,high,low,close\n1700000000000,10,11,9,10.5\n")
    with pytest.raises(FileFormatError, match="lacks the volume column"):
        read_all(open_file_source(path, venue="sim", symbol="X/Y", timeframe="1m"))


def test_csv_unknown_header_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "weather.csv"
    path.write_text("city,temperature\nParis,21\n")
    with pytest.raises(FileFormatError, match="unrecognised CSV header"):
        open_file_source(path)
