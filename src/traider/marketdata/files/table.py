"""Feather and parquet tables of candles, trades or quotes that follow no file-naming convention.

The kind is read from the column names (open/high/low/close → OHLCV, price and amount or quantity →
trades, bid/ask → one-level book snapshots). NautilusTrader catalog files store prices and sizes as
fixed-point integers in fixed-size binary columns whose scale the file does not record (the shared
fixtures decode to 100x the prices of the same bars in CSV under nautilus's documented 1e9/1e16
scales), so they are refused with a one-line error rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

from traider.marketdata.files import tables
from traider.marketdata.files.base import FileFormatError, FileSource, Identity, Part
from traider.marketdata.files.loading import read_table, table_schema
from traider.marketdata.records import Stream

if TYPE_CHECKING:
    import pandas as pd


def fixed_point_columns(schema: object) -> list[str]:
    """Return the fixed-size binary columns of an arrow schema (NautilusTrader fixed-point values)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    assert isinstance(schema, pa.Schema)
    return [field.name for field in schema if pa.types.is_fixed_size_binary(field.type)]


def refuse_fixed_point(path: object, schema: object) -> None:
    """Raise a one-line error if the table stores prices as NautilusTrader fixed-point binaries."""
    columns = fixed_point_columns(schema)
    if columns:
        name = getattr(path, "name", path)
        raise FileFormatError(
            f"{name} stores {', '.join(columns[:3])} as NautilusTrader fixed-point binaries, whose scale the "
            "file does not record: export it from a nautilus catalog to float columns first"
        )


class TableSource(FileSource):
    """A feather or parquet table of candles, trades or quotes replayed as a source."""

    format = "table"

    @cached_property
    def kind(self) -> str:
        """Return ohlcv, trades or quotes, read from the column names."""
        schema = table_schema(self.path)
        refuse_fixed_point(self.path, schema)
        names = {name.lower() for name in schema.names}
        if {"open", "high", "low", "close"} <= names:
            return "ohlcv"
        if "price" in names and names & set(tables.AMOUNT_NAMES):
            return "trades"
        if names & {"bid", "bid_price"} and names & {"ask", "ask_price"}:
            return "quotes"
        raise FileFormatError(f"{self.path.name}: columns {', '.join(schema.names)} are not candles, trades or quotes")

    @property
    def streams(self) -> frozenset[Stream]:
        """Return the one stream the table holds."""
        return frozenset({{"ohlcv": Stream.OHLCV, "trades": Stream.TRADES}.get(self.kind, Stream.BOOK_SNAPSHOTS)})

    def parts(self, stream: Stream, identity: Identity) -> Iterator[Part]:
        """Yield the whole table as one part."""
        raw: pd.DataFrame = read_table(self.path)
        if self.kind == "ohlcv":
            yield tables.ohlcv(raw, identity, self.path, self.name)
        elif self.kind == "trades":
            yield tables.trades(raw, identity, self.path, self.name)
        else:
            yield tables.quotes(raw, identity, self.path, self.name)
