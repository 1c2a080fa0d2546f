"""cryptofeed raw recordings of Binance, Coinbase and Bybit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.marketdata.files.support import read_all, utc
from traider.marketdata.files import CryptofeedSource, FileFormatError, open_file_source
from traider.marketdata.files.recording import iter_json, read_recording
from traider.marketdata.records import Stream

SAMPLES = "cryptofeed/sample_data"


def _count_levels(path: Path, kind: str) -> int:
    """Count depth levels the independent way: straight from the JSON."""
    total = 0
    for _, body in iter_json(read_recording(path)):
        if kind == "binance" and body.get("data", {}).get("e") == "depthUpdate":
            total += len(body["data"]["b"]) + len(body["data"]["a"])
        elif kind == "coinbase" and body.get("type") == "l2update":
            total += len(body["changes"])
    return total


@pytest.mark.parametrize(
    ("name", "deltas", "trades", "candles"),
    [("BINANCE.ws.1.0", 422, 2, 0), ("BINANCE_FUTURES.ws.1.0", 6297, 91, 4), ("BINANCE_US.ws.1.0", 609, 11, 1)],
)
def test_cryptofeed_binance_ws_yields_deltas_trades_and_closed_klines(
    shared_data: Path, name: str, deltas: int, trades: int, candles: int
) -> None:
    source = open_file_source(shared_data / SAMPLES / name)
    assert isinstance(source, CryptofeedSource)
    assert source.streams == frozenset({Stream.BOOK_DELTAS, Stream.TRADES, Stream.OHLCV})
    delta_read = read_all(source, Stream.BOOK_DELTAS)
    assert len(delta_read.frame) == deltas == _count_levels(source.path, "binance")
    assert len(read_all(source, Stream.TRADES).frame) == trades
    assert len(read_all(source, Stream.OHLCV).frame) == candles
    assert set(delta_read.frame["side"]) == {"bid", "ask"}
    assert set(delta_read.frame["venue"]) == {name.split(".", maxsplit=1)[0].lower()}


def test_cryptofeed_binance_first_depth_diff_and_agg_trade_values(shared_data: Path) -> None:
    source = open_file_source(shared_data / SAMPLES / "BINANCE.ws.1.0")
    deltas = read_all(source, Stream.BOOK_DELTAS).frame
    first = deltas.iloc[0]
    assert (first["symbol"], first["sequence"], first["side"], first["price"], first["amount"]) == (
        "NKNUSDT",
        499869752,
        "bid",
        0.3513,
        6195.0,
    )
    assert first["ts"] == utc("2021-10-12 00:28:32.068")
    trade = read_all(source, Stream.TRADES).frame.iloc[0]
    assert (trade["trade_id"], trade["price"], trade["amount"], trade["side"]) == ("15683430", 0.3528, 58.0, "buy")
    assert trade["ts"] == utc("2021-10-12 00:28:43.963")


def test_cryptofeed_binance_closed_kline_values(shared_data: Path) -> None:
    candles = read_all(open_file_source(shared_data / SAMPLES / "BINANCE_FUTURES.ws.1.0"), Stream.OHLCV).frame
    sushi = candles[candles["symbol"] == "SUSHIUSDT"].iloc[0]
    assert sushi["timeframe"] == "1m" and sushi["ts"] == utc("2021-07-22 22:25")
    assert sushi[["open", "high", "low", "close", "volume"]].tolist() == [7.608, 7.618, 7.607, 7.617, 3005.0]


def test_cryptofeed_binance_http_depth_snapshots(shared_data: Path) -> None:
    source = open_file_source(shared_data / SAMPLES / "BINANCE.http.0.0")
    assert source.streams == frozenset({Stream.BOOK_SNAPSHOTS})
    frame = read_all(source).frame
    assert frame["symbol"].tolist() == ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"]
    assert frame["sequence"].tolist() == [499869752, 281916627, 259345543, 15602511]
    first = frame.iloc[0]
    assert first["ts"] == utc("2021-10-12 00:28:32.320639")  # the recorder's clock: spot REST has no event time
    assert (first["bid_prices"][0], first["bid_amounts"][0], first["ask_prices"][0]) == (0.3521, 672.0, 0.3525)
    assert (len(first["bid_prices"]), len(first["ask_prices"])) == (609, 1000)


def test_cryptofeed_coinbase_level2_and_matches(shared_data: Path) -> None:
    source = open_file_source(shared_data / SAMPLES / "COINBASE.ws.28.0")
    snapshots = read_all(source, Stream.BOOK_SNAPSHOTS).frame
    deltas = read_all(source, Stream.BOOK_DELTAS).frame
    trades = read_all(source, Stream.TRADES)
    assert len(snapshots) == 10 and snapshots["symbol"].is_unique
    assert len(deltas) == _count_levels(source.path, "coinbase") == 9719
    assert len(trades.frame) == 107 and trades.rejections == ()  # 97 matches + 10 last_match
    assert set(snapshots["venue"]) == {"coinbase"}
    match = trades.frame[trades.frame["trade_id"] == "280232"].iloc[0]
    assert (match["symbol"], match["price"], match["amount"]) == ("SKL-BTC", 1.305e-05, 985.0)
    assert match["side"] == "buy"  # the maker sold, so the taker bought
    assert match["ts"] == utc("2021-04-17 16:43:37.089723")


@pytest.mark.parametrize(("name", "snapshots", "trades"), [("BYBIT.ws.25.0", 8, 101), ("BYBIT.ws.26.0", 2, 150)])
def test_cryptofeed_bybit_order_book_and_trades(shared_data: Path, name: str, snapshots: int, trades: int) -> None:
    source = open_file_source(shared_data / SAMPLES / name)
    snapshot_frame = read_all(source, Stream.BOOK_SNAPSHOTS).frame
    assert len(snapshot_frame) == snapshots
    for bids, asks in zip(snapshot_frame["bid_prices"], snapshot_frame["ask_prices"], strict=True):
        assert len(bids) == len(asks) == 25 and bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert bids[0] < asks[0]
    trade_frame = read_all(source, Stream.TRADES).frame
    assert len(trade_frame) == trades and set(trade_frame["side"]) <= {"buy", "sell"}
    deltas = read_all(source, Stream.BOOK_DELTAS).frame
    assert (deltas["amount"] >= 0).all() and (deltas["amount"] == 0).any()  # deletions are amount 0


def test_cryptofeed_bybit_inverse_trade_values(shared_data: Path) -> None:
    trades = read_all(open_file_source(shared_data / SAMPLES / "BYBIT.ws.26.0"), Stream.TRADES).frame
    first = trades[trades["trade_id"] == "5ffb8b77-900c-507d-97a2-0922557ffe54"].iloc[0]
    assert (first["symbol"], first["price"], first["amount"], first["side"]) == ("BTCUSD", 60621.5, 4.0, "sell")
    assert first["ts"] == utc("2021-04-17 16:43:06.614")


def test_cryptofeed_multi_stream_file_needs_a_stream(shared_data: Path) -> None:
    with pytest.raises(FileFormatError, match="holds several streams"):
        read_all(open_file_source(shared_data / SAMPLES / "COINBASE.ws.28.0"))


def test_cryptofeed_broken_lines_and_levels_are_rejected_and_counted(tmp_path: Path) -> None:
    good = {"stream": "abcusdt@depth@100ms", "data": {"e": "depthUpdate", "E": 1633998512068, "s": "ABCUSDT",
            "U": 10, "u": 12, "b": [["1.5", "2"], ["x", "1"]], "a": [["1.6", "-1"]]}}  # fmt: skip
    trade = {"stream": "abcusdt@aggTrade", "data": {"e": "aggTrade", "E": 1, "s": "ABCUSDT", "a": 5, "p": "1.5",
             "q": "0", "f": 1, "l": 1, "T": 1633998512068, "m": True}}  # fmt: skip
    lines = [
        "wss://stream.binance.com:9443/stream?streams=abcusdt@depth@100ms <-> 1633998511.1",
        f"1633998512.1: {json.dumps(good)}",
        '1633998512.2: {"stream": "abcusdt@depth@100ms", "data": {"e": "depthUpd',
        "garbage line",
        f"1633998512.3: {json.dumps(trade)}",
        '1633998512.4: {"stream": "abcusdt@bookTicker", "data": {"u": 1, "s": "ABCUSDT"}}',
    ]
    path = tmp_path / "BINANCE.ws.1.0"
    path.write_text("\n".join(lines) + "\n")
    source = open_file_source(path)
    deltas = read_all(source, Stream.BOOK_DELTAS)
    assert len(deltas.frame) == 1 and deltas.frame.iloc[0]["price"] == 1.5
    assert sorted(rejection.reason for rejection in deltas.rejections) == [
        "amount negative",
        "message is not valid JSON",
        "not a cryptofeed recording line",
        "price is not a number",
    ]
    trades = read_all(source, Stream.TRADES)
    assert len(trades.frame) == 0
    assert "amount not positive" in [rejection.reason for rejection in trades.rejections]
    json.dumps([dict(rejection.record) for rejection in deltas.rejections + trades.rejections])


def test_cryptofeed_unsupported_venue_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "KRAKEN.ws.1.0"
    path.write_text('1633998512.1: {"event": "heartbeat"}\n')
    with pytest.raises(FileFormatError, match="recordings of kraken are not supported"):
        open_file_source(path)


def test_cryptofeed_caller_hints_choose_stream_and_rename_venue(shared_data: Path) -> None:
    source = open_file_source(shared_data / SAMPLES / "BYBIT.ws.26.0", venue="bybit_inverse", stream=Stream.TRADES)
    frame = read_all(source).frame
    assert len(frame) == 150 and set(frame["venue"]) == {"bybit_inverse"}
