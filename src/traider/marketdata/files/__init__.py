"""File replay sources: freqtrade, CSV, tardis and cryptofeed files read as market-data `Source`s.

`open_file_source(path, venue=..., symbol=..., timeframe=...)` picks the reader by name and content.
"""

from traider.marketdata.files.base import FileFormatError, FileSource, Identity
from traider.marketdata.files.cryptofeed import CryptofeedSource
from traider.marketdata.files.csv import CsvSource
from traider.marketdata.files.dispatch import open_file_source
from traider.marketdata.files.freqtrade import FreqtradeSource
from traider.marketdata.files.table import TableSource
from traider.marketdata.files.tardis import TardisCsvSource

__all__ = [
    "CryptofeedSource",
    "CsvSource",
    "FileFormatError",
    "FileSource",
    "FreqtradeSource",
    "Identity",
    "TableSource",
    "TardisCsvSource",
    "open_file_source",
]
