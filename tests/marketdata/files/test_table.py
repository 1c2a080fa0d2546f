"""Feather and parquet tables without a naming convention, and the refusal of nautilus fixed-point catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.marketdata.files.support import read_all, utc
from traider.marketdata.files import FileFormatError, TableSource, open_file_source

NAUTILUS = "nautilus_trader/tests/test_data"


def test_table_nautilus_binance_trades_parquet_derives_side_from_buyer_maker(shared_data: Path) -> None:
    path = shared_data / NAUTILUS / "binance/btcusdt-trades.parquet"
    source = open_file_source(path, venue="binance", symbol="BTC/USDT")
    assert isinstance(source, TableSource)
    frame = read_all(source).frame
    assert len(frame) == 2001
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["ts"] == utc("2021-01-08 00:00:00.278")
    assert (first["trade_id"], first["price"], first["amount"], first["side"]) == (
        "553287559",
        39432.48,
        0.000263,
        "sell",
    )
    assert second["side"] == "buy"  # buyer_maker False: the buyer took


def test_table_nautilus_binance_quotes_parquet_records_its_symbol(shared_data: Path) -> None:
    frame = read_all(open_file_source(shared_data / NAUTILUS / "binance/btcusdt-quotes.parquet", venue="binance")).frame
    assert len(frame) == 451
    assert set(frame["symbol"]) == {"BTC/USDT"}
    first = frame.iloc[0]
    assert (first["bid_prices"], first["ask_prices"]) == ([39432.99], [39433.62])


def test_table_freqtrade_candles_without_naming_convention(shared_data: Path) -> None:
    path = shared_data / "freqtrade/tests/testdata/orderflow/populate_dataframe_with_trades_DF.feather"
    frame = read_all(open_file_source(path, venue="binance", symbol="X/USDT", timeframe="5m")).frame
    assert len(frame) == 999
    assert frame["ts"].iloc[0] == utc("2024-01-28 23:55") and frame["ts"].iloc[-1] == utc("2024-02-01 11:05")


@pytest.mark.parametrize("width", ["64-bit", "128-bit"])
@pytest.mark.parametrize("name", ["bars.parquet", "quotes-3-groups-filter-query.parquet"])
def test_table_nautilus_fixed_point_catalog_is_refused_in_one_line(shared_data: Path, width: str, name: str) -> None:
    with pytest.raises(FileFormatError, match="NautilusTrader fixed-point") as error:
        open_file_source(shared_data / NAUTILUS / "nautilus" / width / name)
    assert "\n" not in str(error.value)
