"""tardis.dev CSV datasets: trades, book_snapshot_5/25 and quotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.marketdata.files.support import read_all, utc
from traider.marketdata.files import FileFormatError, TardisCsvSource, open_file_source
from traider.marketdata.records import Stream

TARDIS = "nautilus_trader/tests/test_data/tardis"


def test_tardis_trades_reads_9999_binance_futures_trades(shared_data: Path) -> None:
    source = open_file_source(shared_data / TARDIS / "trades.csv")
    assert isinstance(source, TardisCsvSource) and source.streams == frozenset({Stream.TRADES})
    read = read_all(source)
    frame = read.frame
    assert len(frame) == 9999 and read.rejections == ()
    assert set(frame["venue"]) == {"binance-futures"} and set(frame["symbol"]) == {"BTCUSDT"}
    first, last = frame.iloc[0], frame.iloc[-1]
    assert first["ts"] == utc("2020-02-22 00:00:02.111")
    assert (first["trade_id"], first["side"], first["price"], first["amount"]) == ("42377944", "buy", 9682.0, 0.132)
    assert last["ts"] == utc("2020-02-22 02:05:47.728")
    assert (last["trade_id"], last["side"], last["price"], last["amount"]) == ("42387942", "sell", 9666.84, 0.07)


def test_tardis_quotes_become_one_level_snapshots(shared_data: Path) -> None:
    frame = read_all(open_file_source(shared_data / TARDIS / "quotes.csv")).frame
    assert len(frame) == 9999
    first = frame.iloc[0]
    assert first["ts"] == utc("2020-02-22 00:00:01.096")
    assert (first["bid_prices"], first["bid_amounts"]) == ([9681.92], [0.67])
    assert (first["ask_prices"], first["ask_amounts"]) == ([9682.0], [0.84])
    assert frame["sequence"].is_unique
    assert frame["ts"].iloc[-1] == utc("2020-02-22 00:03:47.061")


def test_tardis_huobi_quotes_keep_their_venue(shared_data: Path) -> None:
    frame = read_all(open_file_source(shared_data / TARDIS / "huobi-dm-swap_quotes_BTC-USD.csv")).frame
    assert len(frame) == 10
    assert set(frame["venue"]) == {"huobi-dm-swap"} and set(frame["symbol"]) == {"BTC-USD"}
    assert frame.iloc[0]["ask_amounts"] == [5494.0]


@pytest.mark.parametrize("depth", [5, 25])
def test_tardis_book_snapshots_hold_every_level_best_first(shared_data: Path, depth: int) -> None:
    path = shared_data / TARDIS / f"binance-futures_book_snapshot_{depth}_BTCUSDT.csv"
    frame = read_all(open_file_source(path)).frame
    assert len(frame) == 10
    first = frame.iloc[0]
    assert first["ts"] == utc("2020-09-01 00:00:03.696")
    assert len(first["bid_prices"]) == len(first["ask_prices"]) == depth
    assert (first["bid_prices"][0], first["bid_amounts"][0]) == (11657.07, 10.896)
    assert (first["ask_prices"][0], first["ask_amounts"][0]) == (11657.08, 1.714)
    for bids, asks in zip(frame["bid_prices"], frame["ask_prices"], strict=True):
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert bids[0] < asks[0]


def test_tardis_thin_book_leaves_out_empty_levels_and_rejects_bad_ones(tmp_path: Path) -> None:
    header = "exchange,symbol,timestamp,local_timestamp"
    levels = ",".join(f"asks[{i}].price,asks[{i}].amount,bids[{i}].price,bids[{i}].amount" for i in range(2))
    path = tmp_path / "book_snapshot_2.csv"
    path.write_text(
        f"{header},{levels}\n"
        "deribit,BTC-PERPETUAL,1598918403696000,1598918403810979,101,1,100,2,,,99,3\n"
        "deribit,BTC-PERPETUAL,1598918403697000,1598918403810979,101,x,100,2,102,1,99,3\n"
        "deribit,BTC-PERPETUAL,1598918403698000,1598918403810979,101,1,-100,2,102,1,99,3\n"
    )
    read = read_all(open_file_source(path))
    assert len(read.frame) == 1
    assert read.frame.iloc[0]["ask_prices"] == [101.0] and read.frame.iloc[0]["bid_prices"] == [100.0, 99.0]
    assert [rejection.reason for rejection in read.rejections] == [
        "ask amount is not a number",
        "bid price not positive",
    ]


def test_tardis_unsupported_dataset_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "derivative_ticker.csv"
    path.write_text("exchange,symbol,timestamp,local_timestamp,funding_rate\nbitmex,XBTUSD,1,2,0.0001\n")
    with pytest.raises(FileFormatError, match="not a tardis trades, book_snapshot or quotes CSV"):
        read_all(open_file_source(path))
