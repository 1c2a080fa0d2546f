"""Open raw files (JSON, gzip, feather, parquet, CSV) and turn every way they can be broken into one line."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traider.marketdata.files.base import FileFormatError

if TYPE_CHECKING:
    import pandas as pd

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")


def suffix(path: Path) -> str:
    """Return the format suffix of `path`, keeping .gz with the one before it (.json.gz)."""
    suffixes = [item.lower() for item in path.suffixes[-2:]]
    if len(suffixes) == 2 and suffixes[-1] == ".gz":
        return "".join(suffixes)
    return path.suffix.lower()


def check_readable(path: Path) -> None:
    """Raise a one-line error if `path` is missing, not a file, empty, or HDF5 (which needs `tables`)."""
    if not path.exists():
        raise FileFormatError(f"{path} does not exist")
    if not path.is_file():
        raise FileFormatError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise FileFormatError(f"{path.name} is empty")
    refuse_hdf5(path)


def refuse_hdf5(path: Path) -> None:
    """Raise a one-line error for HDF5 files: reading them needs `tables`, which is not a dependency."""
    if path.suffix.lower() in HDF5_SUFFIXES:
        raise FileFormatError(
            f"{path.name} is HDF5, which needs the 'tables' package (not installed): "
            "convert it to feather first (freqtrade convert-data --format-from hdf5 --format-to feather)"
        )


def read_text(path: Path) -> str:
    """Return the text of `path` (gunzipped if it ends in .gz), or raise a one-line error."""
    check_readable(path)
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as stream:
                data = stream.read()
        else:
            data = path.read_bytes()
        return data.decode("utf-8")
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise FileFormatError(f"{path.name} is a truncated or corrupt gzip file ({error})") from None
    except UnicodeDecodeError as error:
        raise FileFormatError(f"{path.name} is not UTF-8 text (byte {error.start})") from None


def load_json(path: Path) -> Any:
    """Return the parsed JSON document in `path` (.json or .json.gz), or raise a one-line error."""
    text = read_text(path)
    if not text.strip():
        raise FileFormatError(f"{path.name} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FileFormatError(
            f"{path.name} is not valid JSON (truncated?): {error.msg} at line {error.lineno} column {error.colno}"
        ) from None


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Return a feather or parquet file as a DataFrame, or raise a one-line error."""
    import pandas as pd
    import pyarrow as pa  # type: ignore[import-untyped]

    check_readable(path)
    try:
        if suffix(path) == ".feather":
            return pd.read_feather(path, columns=columns)
        return pd.read_parquet(path, columns=columns)
    except (pa.ArrowException, OSError, ValueError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FileFormatError(f"{path.name} is not a readable {suffix(path)[1:]} file: {detail}") from None


def table_schema(path: Path) -> Any:
    """Return the arrow schema of a feather or parquet file without reading its rows."""
    import pyarrow as pa
    from pyarrow import feather, parquet

    check_readable(path)
    try:
        if suffix(path) == ".feather":
            return feather.read_table(path, memory_map=True).schema
        return parquet.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FileFormatError(f"{path.name} is not a readable {suffix(path)[1:]} file: {detail}") from None


def first_line(path: Path) -> str:
    """Return the first line of a text file (gunzipped if .gz), or raise a one-line error."""
    check_readable(path)
    opener: Any = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as stream:
            return str(stream.readline()).rstrip("\r\n")
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise FileFormatError(f"{path.name} is a truncated or corrupt gzip file ({error})") from None


def read_csv_chunks(path: Path, *, header: bool, rows: int, **options: Any) -> Iterator[pd.DataFrame]:
    """Yield a CSV file in chunks of `rows` rows (types inferred unless `dtype` says), or raise a one-line error."""
    import pandas as pd

    check_readable(path)
    try:
        reader = pd.read_csv(
            path,
            header=0 if header else None,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            chunksize=rows,
            **options,
        )
        with reader:
            yield from reader
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, EOFError, zlib.error) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FileFormatError(f"{path.name} is not a readable CSV file: {detail}") from None
