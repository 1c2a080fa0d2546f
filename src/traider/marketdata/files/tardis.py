"""tardis.dev CSV datasets: trades, book_snapshot_N and quotes (exchange,symbol,timestamp,local_timestamp,...).

Timestamps are epoch microseconds; the exchange timestamp is used. Venue and symbol come from the
file's own exchange and symbol columns. book_snapshot_N rows become snapshots of up to N levels per
side (tardis leaves the columns of missing levels empty); quotes become snapshots of one level per
side. Snapshots carry no exchange sequence, so their sequence is the row number in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from traider.marketdata.files import tables
from traider.marketdata.files.base import FileFormatError, FileSource, Identity, Part
from traider.marketdata.files.loading import first_line, read_csv_chunks
from traider.marketdata.files.rows import RowChecks
from traider.marketdata.records import Stream

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

HEADER = ("exchange", "symbol", "timestamp", "local_timestamp")
LEVEL = re.compile(r"^(bids|asks)\[(\d+)\]\.(price|amount)$")
STREAMS = {"trades": Stream.TRADES, "book_snapshot": Stream.BOOK_SNAPSHOTS, "quotes": Stream.BOOK_SNAPSHOTS}


def is_tardis_header(line: str) -> bool:
    """Return whether a CSV first line is a tardis.dev dataset header."""
    return tuple(field.strip() for field in line.split(",")[:4]) == HEADER


def tardis_kind(line: str) -> str:
    """Return the tardis dataset a header belongs to: trades, book_snapshot, quotes or unknown."""
    names = {field.strip() for field in line.split(",")}
    if {"id", "side", "price", "amount"} <= names:
        return "trades"
    if "asks[0].price" in names:
        return "book_snapshot"
    if {"ask_price", "ask_amount", "bid_price", "bid_amount"} <= names:
        return "quotes"
    return "unknown"


class TardisCsvSource(FileSource):
    """A tardis.dev trades, book_snapshot_N or quotes CSV replayed as a source."""

    format = "tardis"

    @property
    def kind(self) -> str:
        """Return the tardis dataset of the file, or raise a one-line error for the unsupported ones."""
        line = first_line(self.path)
        kind = tardis_kind(line) if is_tardis_header(line) else "unknown"
        if kind == "unknown":
            raise FileFormatError(f"{self.path.name}: not a tardis trades, book_snapshot or quotes CSV ({line[:80]!r})")
        return kind

    @property
    def streams(self) -> frozenset[Stream]:
        """Return the one stream the file holds."""
        return frozenset({STREAMS[self.kind]})

    def parts(self, stream: Stream, identity: Identity) -> Iterator[Part]:
        """Yield the file in chunks of at most `batch_rows` rows."""
        kind = self.kind
        first_row = 0
        dtype = {"exchange": str, "symbol": str, "id": str}
        for raw in read_csv_chunks(self.path, header=True, rows=self.batch_rows, dtype=dtype):
            if kind == "trades":
                yield tables.trades(raw, identity, self.path, self.name, unit="us")
            elif kind == "quotes":
                yield tables.quotes(raw, identity, self.path, self.name, unit="us", first_row=first_row)
            else:
                yield self._snapshots(raw, identity, first_row)
            first_row += len(raw)

    def _block(self, raw: pd.DataFrame, side: str, value: str, depth: int) -> pd.DataFrame:
        names = [f"{side}[{level}].{value}" for level in range(depth)]
        missing = [name for name in names if name not in raw.columns]
        if missing:
            raise FileFormatError(f"{self.path.name} lacks column {missing[0]!r}")
        return raw[names]

    def _snapshots(self, raw: pd.DataFrame, identity: Identity, first_row: int) -> Part:
        checks = RowChecks(raw, stream=Stream.BOOK_SNAPSHOTS, source=self.name)
        raw = checks.raw
        columns: dict[str, Any] = tables.identity_columns(checks, raw, identity, self.path)
        columns["ts"] = checks.timestamp(raw["timestamp"], "timestamp", "us")
        columns["sequence"] = raw.index.to_numpy() + first_row
        depth = 1 + max(int(match[2]) for name in raw.columns if (match := LEVEL.match(str(name))))
        for side, name in (("bids", "bid"), ("asks", "ask")):
            prices = self._block(raw, side, "price", depth)
            amounts = self._block(raw, side, "amount", depth)
            price_grid = checks.grid(prices, f"{name} price", bound="positive")
            amount_grid = checks.grid(amounts, f"{name} amount", bound="nonnegative")
            columns[f"{name}_prices"], columns[f"{name}_amounts"] = _levels(price_grid, amount_grid)
        return checks.split(columns)


def _levels(prices: np.ndarray[Any, Any], amounts: np.ndarray[Any, Any]) -> tuple[list[Any], list[Any]]:
    """Return per-row level lists, best first, without the empty levels of thin books."""
    import numpy as np

    present = ~np.isnan(prices) & ~np.isnan(amounts)
    if present.all():
        return prices.tolist(), amounts.tolist()
    price_rows = [row[keep].tolist() for row, keep in zip(prices, present, strict=True)]
    amount_rows = [row[keep].tolist() for row, keep in zip(amounts, present, strict=True)]
    return price_rows, amount_rows
