"""What file names say about their contents, for the formats that have a naming convention.

freqtrade: `ETH_BTC-5m.feather` (spot candles), `XRP_USDT_USDT-1h-futures.feather` (perpetual
candles of XRP/USDT:USDT), `...-8h-funding_rate.feather`, `...-1h-mark.feather`, `ETH_BTC-trades.json.gz`.
Binance public data: `ADABTC-1m-2021-11-27.csv`. cryptofeed recordings: `BINANCE.ws.1.0`, `COINBASE.http.0.0`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from traider.marketdata.records import Stream

TIMEFRAME = r"[0-9]+[smhdwM]"
FREQTRADE_NAME = re.compile(
    rf"^(?P<pair>[A-Za-z0-9]+(?:_[A-Za-z0-9]+){{1,2}})-(?:(?P<trades>trades)|(?P<timeframe>{TIMEFRAME}))"
    r"(?:-(?P<kind>spot|futures|mark|index|premiumIndex|funding_rate))?$"
)
BINANCE_KLINE_NAME = re.compile(
    rf"^(?P<symbol>[A-Z0-9]+)-(?P<timeframe>{TIMEFRAME})-[0-9]{{4}}-[0-9]{{2}}(?:-[0-9]{{2}})?$"
)
CRYPTOFEED_NAME = re.compile(r"^(?P<exchange>[A-Z][A-Z0-9_]*)\.(?P<kind>ws|http)\.[0-9]+\.[0-9]+$")
PRICE_CANDLES = ("mark", "index", "premiumIndex")


def stem(path: Path) -> str:
    """Return the file name without its format suffixes (.json.gz, .feather, .csv ...)."""
    name = path.name
    for ending in (".json.gz", ".csv.gz", ".json", ".feather", ".parquet", ".csv", ".h5", ".hdf5"):
        if name.lower().endswith(ending):
            return name[: -len(ending)]
    return name


@dataclass(frozen=True)
class FreqtradeName:
    """A parsed freqtrade data file name."""

    symbol: str
    timeframe: str | None
    kind: str  # spot, futures, mark, index, premiumIndex, funding_rate or trades

    @property
    def stream(self) -> Stream:
        """Return the stream the file holds."""
        if self.kind == "trades":
            return Stream.TRADES
        if self.kind == "funding_rate":
            return Stream.FUNDING_RATES
        return Stream.OHLCV


def freqtrade_name(path: Path) -> FreqtradeName | None:
    """Return what a freqtrade file name says, or None if it does not follow the convention.

    Mark, index and premium-index candles get the candle type appended to the symbol
    (`XRP/USDT:USDT#mark`) so they never collide with the traded candles of the same pair.
    """
    match = FREQTRADE_NAME.match(stem(path))
    if match is None:
        return None
    parts = match["pair"].split("_")
    kind = "trades" if match["trades"] else (match["kind"] or "spot")
    futures = len(parts) == 3 or kind in ("futures", "funding_rate", *PRICE_CANDLES)
    symbol = f"{parts[0]}/{parts[1]}"
    if futures and len(parts) == 3:
        symbol = f"{symbol}:{parts[2]}"
    if kind in PRICE_CANDLES:
        symbol = f"{symbol}#{kind}"
    return FreqtradeName(symbol=symbol, timeframe=match["timeframe"], kind=kind)


def binance_kline_name(path: Path) -> tuple[str, str] | None:
    """Return (symbol, timeframe) of a data.binance.vision kline file name, or None."""
    match = BINANCE_KLINE_NAME.match(stem(path))
    return (match["symbol"], match["timeframe"]) if match else None


def cryptofeed_name(path: Path) -> tuple[str, str] | None:
    """Return (venue, ws|http) of a cryptofeed recording file name, venue in lower case, or None."""
    match = CRYPTOFEED_NAME.match(path.name)
    return (match["exchange"].lower(), match["kind"]) if match else None
