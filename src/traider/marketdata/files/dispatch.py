"""Choose the reader for a market-data file from its name and first bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traider.marketdata.files.base import FileFormatError, FileSource
from traider.marketdata.files.cryptofeed import CryptofeedSource
from traider.marketdata.files.csv import CsvSource, csv_kind
from traider.marketdata.files.freqtrade import FreqtradeSource
from traider.marketdata.files.loading import check_readable, first_line, suffix, table_schema
from traider.marketdata.files.naming import cryptofeed_name, freqtrade_name
from traider.marketdata.files.recording import LINE
from traider.marketdata.files.table import TableSource, refuse_fixed_point
from traider.marketdata.files.tardis import TardisCsvSource, is_tardis_header

KNOWN = "freqtrade json/json.gz/feather/parquet, candle/trade/quote CSV, tardis CSV, cryptofeed recordings"


def open_file_source(path: str | Path, **hints: Any) -> FileSource:
    """Return the source reading `path`; `hints` (venue, symbol, stream, timeframe, batch_rows) go to it.

    Raise `FileFormatError` with a one-line message for missing, empty, HDF5 or unrecognised files.
    """
    path = Path(path)
    check_readable(path)
    kind = suffix(path)
    if cryptofeed_name(path) is not None:
        return CryptofeedSource(path, **hints)
    if kind in (".json", ".json.gz"):
        return FreqtradeSource(path, **hints)
    if kind in (".feather", ".parquet"):
        refuse_fixed_point(path, table_schema(path))
        return FreqtradeSource(path, **hints) if freqtrade_name(path) else TableSource(path, **hints)
    line = first_line(path)
    if kind in (".csv", ".csv.gz"):
        if is_tardis_header(line):
            return TardisCsvSource(path, **hints)
        if csv_kind(line) == "unknown":
            raise FileFormatError(f"{path.name}: unrecognised CSV header {line[:80]!r}")
        return CsvSource(path, **hints)
    if LINE.match(line) and ("venue" in hints or "://" in line):
        return CryptofeedSource(path, **hints)
    raise FileFormatError(f"{path.name}: unrecognised market-data format (known: {KNOWN})")
