"""Real candle and trade files loaded into the emulator as venue history, so range requests can paginate.

The ccxt excerpts hold three to six candles per case, too few to paginate over. The files below are
real market data from the shared fixtures (freqtrade and jesse test data), served unchanged in value
as the named venue's history. Where the source recorded the venue it is that venue; where it did not,
the assignment to a venue is ours and is marked "assigned". Venue-native fields the files lack
(Binance close time, quote volume, trade count) are derived: close time = open time + interval - 1 ms,
the others "0".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CandleFile:
    """One file of real candles served as a venue's kline history."""

    venue: str
    section: str
    market_id: str
    timeframe: str
    path: str
    provenance: str


CANDLE_FILES: tuple[CandleFile, ...] = (
    CandleFile("binance", "spot", "XRPETH", "1m", "freqtrade/tests/testdata/XRP_ETH-1m.feather", "Binance XRP/ETH"),
    CandleFile("binance", "spot", "XRPETH", "5m", "freqtrade/tests/testdata/XRP_ETH-5m.feather", "Binance XRP/ETH"),
    CandleFile(
        "binance",
        "spot",
        "BTCUSDT",
        "2h",
        "jesse/tests/data_extracted/test_candles_indicators__wavetrend_candles.csv",
        "Binance BTCUSDT 2h (venue named upstream)",
    ),
    CandleFile(
        "binance",
        "spot",
        "BTCUSDT",
        "5m",
        "freqtrade/tests/testdata/orderflow/candles.json",
        "BTC/USDT 5m of 2023-01/02, venue not recorded upstream (assigned to Binance spot, as the model specs and "
        "the pipeline tests read it)",
    ),
    CandleFile(
        "binance",
        "fapi",
        "XRPUSDT",
        "1h",
        "freqtrade/tests/testdata/futures/XRP_USDT_USDT-1h-futures.feather",
        "Binance USDⓈ-M XRPUSDT (freqtrade futures tests)",
    ),
    CandleFile(
        "binance",
        "fapi",
        "XRPUSDT",
        "5m",
        "freqtrade/tests/testdata/futures/XRP_USDT_USDT-5m-futures.feather",
        "Binance USDⓈ-M XRPUSDT (freqtrade futures tests)",
    ),
    CandleFile(
        "coinbase",
        "spot",
        "BTC-USD",
        "1m",
        "jesse/tests/data_extracted/test_candles_0__test_candles_0.csv",
        "BTC/USD 1m of 2019-03-29 with gaps, venue not stated upstream (assigned)",
    ),
    CandleFile(
        "bybit",
        "linear",
        "BTCUSDT",
        "5m",
        "freqtrade/tests/testdata/orderflow/candles.json",
        "BTC/USDT 5m of 2023-01/02, venue not recorded upstream (assigned)",
    ),
)

BINANCE_AGG_TRADES = "freqtrade/tests/testdata/XRP_OLD-trades.json.gz"
"""Binance XRP/ETH aggTrades: the raw payloads are the "info" of each ccxt trade (recorded)."""

BINANCE_FUNDING = "freqtrade/tests/testdata/futures/XRP_USDT_USDT-8h-funding_rate.feather"
BINANCE_MARK = "freqtrade/tests/testdata/futures/XRP_USDT_USDT-8h-mark.feather"
"""Binance USDⓈ-M XRPUSDT funding rates (in the "open" column) and 8h mark-price candles."""


def candle_files(venue: str) -> list[CandleFile]:
    """Return the history files of one venue."""
    return [item for item in CANDLE_FILES if item.venue == venue]
