"""Real market data from ../shared/data in the canonical columns, and the windows that cover it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

FREQTRADE = Path("freqtrade/tests/testdata")
NAUTILUS = Path("nautilus_trader/tests/test_data")

# [start, end) windows covering each real data set (end: the bar after the last one).
OHLCV_WINDOW = (datetime(2019, 10, 11, tzinfo=UTC), datetime(2019, 10, 13, 11, 20, tzinfo=UTC))
TRADES_WINDOW = (datetime(2019, 10, 11, tzinfo=UTC), datetime(2019, 10, 13, 11, 20, tzinfo=UTC))
FUNDING_WINDOW = (datetime(2021, 11, 18, tzinfo=UTC), datetime(2021, 12, 18, 8, tzinfo=UTC))
BOOK_WINDOW = (datetime(2020, 9, 1, tzinfo=UTC), datetime(2020, 9, 1, 0, 1, tzinfo=UTC))
DELTAS_WINDOW = (datetime(2022, 11, 1, 23, 59, tzinfo=UTC), datetime(2022, 11, 2, tzinfo=UTC))
BAR = timedelta(minutes=5)


@pytest.fixture(scope="session")
def quality_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TRAIDER home for the session: the GX stores and the Data Docs go under it."""
    return tmp_path_factory.mktemp("traider-home")


def ohlcv_frame(shared_data: Path, *, venue: str = "binance", scale: float = 1.0) -> pd.DataFrame:
    """Binance XRP/ETH 5m candles (706 bars, 2019-10-11 → 2019-10-13 11:15), prices times `scale`."""
    frame = pd.read_feather(shared_data / FREQTRADE / "XRP_ETH-5m.feather").rename(columns={"date": "ts"})
    frame[["open", "high", "low", "close"]] *= scale
    frame.insert(0, "venue", venue)
    frame.insert(1, "symbol", "XRP/ETH")
    frame.insert(2, "timeframe", "5m")
    return frame


def trades_frame(shared_data: Path) -> pd.DataFrame:
    """Binance XRP/ETH public trades (12,477, 2019-10-11 00:00:11 → 2019-10-13 11:19:28)."""
    raw = pd.read_feather(shared_data / FREQTRADE / "XRP_ETH-trades.feather")
    return pd.DataFrame(
        {
            "venue": "binance",
            "symbol": "XRP/ETH",
            "trade_id": raw["id"].astype(str),
            "ts": pd.to_datetime(raw["timestamp"], unit="ms", utc=True),
            "price": raw["price"],
            "amount": raw["amount"],
            "side": raw["side"].astype(str),
        }
    )


def funding_frame(shared_data: Path, *, venue: str = "binance") -> pd.DataFrame:
    """Binance XRP/USDT:USDT 8-hourly funding rates (91, 2021-11-18 → 2021-12-18); the rate is in `open`."""
    raw = pd.read_feather(shared_data / FREQTRADE / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather")
    return pd.DataFrame({"venue": venue, "symbol": "XRP/USDT:USDT", "ts": raw["date"], "rate": raw["open"]})


def book_snapshot_frame(shared_data: Path) -> pd.DataFrame:
    """Tardis Binance-futures BTCUSDT 25-level book snapshots (10, 2020-09-01 00:00:03 → 00:00:04)."""
    raw = pd.read_csv(shared_data / NAUTILUS / "tardis" / "binance-futures_book_snapshot_25_BTCUSDT.csv")
    levels = range(25)

    def side(name: str, field: str) -> list[list[float]]:
        return raw[[f"{name}[{level}].{field}" for level in levels]].to_numpy().tolist()

    return pd.DataFrame(
        {
            "venue": "binance",
            "symbol": "BTC/USDT:USDT",
            "ts": pd.to_datetime(raw["timestamp"], unit="us", utc=True),
            "sequence": range(len(raw)),
            "bid_prices": side("bids", "price"),
            "bid_amounts": side("bids", "amount"),
            "ask_prices": side("asks", "price"),
            "ask_amounts": side("asks", "amount"),
        }
    )


def book_delta_frame(shared_data: Path) -> pd.DataFrame:
    """Binance-futures BTCUSDT depth updates (100 level changes at 2022-11-01 23:59:59.939)."""
    raw = pd.read_csv(shared_data / NAUTILUS / "binance" / "btcusdt-depth-update.csv")
    return pd.DataFrame(
        {
            "venue": "binance",
            "symbol": "BTC/USDT:USDT",
            "ts": pd.to_datetime(raw["timestamp"], unit="ms", utc=True),
            "sequence": raw["last_update_id"],
            "side": raw["side"].map({"a": "ask", "b": "bid"}),
            "price": raw["price"],
            "amount": raw["qty"],
        }
    )
