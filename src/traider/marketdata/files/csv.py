"""Candle and trade CSV files: generic OHLCV tables, Binance kline dumps, Kraken trade dumps, freqtrade trades.

The kind is read from the first line: a header naming open/high/low/close is a candle table (jesse,
nautilus, any `time,open,high,low,close,volume` export), one naming price and amount a trade table
(freqtrade's trades CSV). Header-less files are Binance public kline dumps (12 columns, epoch open
time first; venue binance, symbol and timeframe from `ADABTC-1m-2021-11-27.csv`) or Kraken trade
dumps (`unix_seconds,price,volume`; venue kraken, symbol from `BCHEUR.csv`; no trade id or side, so
ids are the epoch microseconds and the ordinal of the trade within that time).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING

from traider.marketdata.files import tables
from traider.marketdata.files.base import FileFormatError, FileSource, Identity, Part
from traider.marketdata.files.loading import first_line, read_csv_chunks
from traider.marketdata.files.naming import binance_kline_name, stem
from traider.marketdata.records import Stream

if TYPE_CHECKING:
    import pandas as pd

KLINE_COLUMNS = {0: "open_time", 1: "open", 2: "high", 3: "low", 4: "close", 5: "volume"}
KRAKEN_COLUMNS = {0: "timestamp", 1: "price", 2: "amount"}


def csv_kind(line: str) -> str:
    """Return what a CSV's first line says it holds: ohlcv, trades, quotes, kline, kraken or unknown."""
    fields = [field.strip().strip('"').lower() for field in next(csv.reader([line]), [])]
    if fields and all(_is_number(field) for field in fields):
        if len(fields) == 3:
            return "kraken"
        return "kline" if len(fields) >= 6 else "unknown"
    names = set(fields)
    if {"open", "high", "low", "close"} <= names:
        return "ohlcv"
    if "price" in names and names & set(tables.AMOUNT_NAMES):
        return "trades"
    if names & {"bid", "bid_price"} and names & {"ask", "ask_price"}:
        return "quotes"
    return "unknown"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class CsvSource(FileSource):
    """A candle, trade or quote CSV file replayed as a source."""

    format = "csv"

    @property
    def kind(self) -> str:
        """Return the kind of CSV (ohlcv, trades, quotes, kline or kraken)."""
        kind = csv_kind(first_line(self.path))
        if kind == "unknown":
            raise FileFormatError(f"{self.path.name}: unrecognised CSV header {first_line(self.path)[:80]!r}")
        return kind

    @property
    def streams(self) -> frozenset[Stream]:
        """Return the one stream the file holds."""
        kind = self.kind
        if kind in ("trades", "kraken"):
            return frozenset({Stream.TRADES})
        return frozenset({Stream.BOOK_SNAPSHOTS if kind == "quotes" else Stream.OHLCV})

    def identity_from_name(self) -> Identity:
        """Return what the file name says: Binance kline dumps and Kraken trade dumps name their symbol."""
        kind = csv_kind(first_line(self.path)) if self.path.is_file() and self.path.stat().st_size else "unknown"
        if kind == "kline" and (parsed := binance_kline_name(self.path)):
            return Identity(venue="binance", symbol=parsed[0], timeframe=parsed[1])
        if kind == "kraken":
            return Identity(venue="kraken", symbol=stem(self.path))
        return Identity()

    def parts(self, stream: Stream, identity: Identity) -> Iterator[Part]:
        """Yield the file in chunks of at most `batch_rows` rows."""
        kind = self.kind
        header = kind not in ("kline", "kraken")
        previous: pd.Series | None = None
        first_row = 0
        for chunk in read_csv_chunks(self.path, header=header, rows=self.batch_rows):
            raw = chunk.drop(columns=[name for name in chunk.columns if str(name).startswith("Unnamed")])
            if kind == "kline":
                yield tables.ohlcv(tables.rename_positional(raw, KLINE_COLUMNS), identity, self.path, self.name)
            elif kind == "kraken":
                frame, rejections = tables.trades(
                    tables.rename_positional(raw, KRAKEN_COLUMNS), identity, self.path, self.name, unit="s"
                )
                frame["trade_id"] = _continue_ordinals(frame["trade_id"], previous)
                previous = frame["trade_id"] if len(frame) else previous
                yield frame, rejections
            elif kind == "trades":
                yield tables.trades(raw, identity, self.path, self.name)
            elif kind == "quotes":
                yield tables.quotes(raw, identity, self.path, self.name, first_row=first_row)
            else:
                yield tables.ohlcv(raw, identity, self.path, self.name)
            first_row += len(chunk)


def _continue_ordinals(ids: pd.Series, previous: pd.Series | None) -> pd.Series:
    """Return synthetic ids whose ordinals continue the previous chunk's when a time spans the chunk boundary."""
    if previous is None or ids.empty or previous.empty:
        return ids
    last_time, last_ordinal = str(previous.iloc[-1]).rsplit("-", 1)
    times = ids.str.rsplit("-", n=1).str[0]
    ordinals = ids.str.rsplit("-", n=1).str[1].astype(int)
    spanning = times == last_time
    ordinals[spanning] += int(last_ordinal) + 1
    return times + "-" + ordinals.astype(str)
