"""freqtrade data files: candles, trades, funding rates and mark candles in json, json.gz, feather or parquet.

Candles are [ts_ms, open, high, low, close, volume] arrays in JSON, or date/open/high/low/close/volume
tables; trades are [timestamp, id, type, side, price, amount, cost] arrays or tables (or ccxt trade
dicts). The funding-rate file stores the rate in its `open` column; its mark price is taken from the
sibling mark-candle file of the same timeframe when there is one. Mark and index candles carry no
volume: it is stored as 0. HDF5 files need `tables` and are refused with a one-line error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traider.marketdata.files import tables
from traider.marketdata.files.base import FileFormatError, FileSource, Identity, Part
from traider.marketdata.files.loading import load_json, read_table, refuse_hdf5, suffix
from traider.marketdata.files.naming import PRICE_CANDLES, freqtrade_name, stem
from traider.marketdata.files.rows import RowChecks, jsonable
from traider.marketdata.records import Rejection, Stream

if TYPE_CHECKING:
    import pandas as pd

SUFFIXES = (".json", ".json.gz", ".feather", ".parquet")
ARRAY_COLUMNS = {
    6: ("date", "open", "high", "low", "close", "volume"),
    7: ("timestamp", "id", "type", "side", "price", "amount", "cost"),
}


class FreqtradeSource(FileSource):
    """One freqtrade data file (candles, trades or funding rates) replayed as a source."""

    format = "freqtrade"

    def __init__(self, path: str | Path, *, mark_path: str | Path | None = None, **hints: Any) -> None:
        super().__init__(path, **hints)
        refuse_hdf5(self.path)
        if suffix(self.path) not in SUFFIXES:
            raise FileFormatError(f"{self.path.name} is not a freqtrade data file ({', '.join(SUFFIXES)})")
        self.mark_path = Path(mark_path) if mark_path is not None else self._sibling_mark()

    def identity_from_name(self) -> Identity:
        """Return the pair and timeframe in the freqtrade file name."""
        name = freqtrade_name(Path(self.path))
        return Identity(symbol=name.symbol, timeframe=name.timeframe) if name else Identity()

    @property
    def kind(self) -> str:
        """Return what the file holds: trades, funding_rate, or a candle type (spot, futures, mark ...)."""
        name = freqtrade_name(self.path)
        if name is not None:
            return name.kind
        frame, _ = self._raw
        return "trades" if tables.has_columns(frame, "price") else "spot"

    @property
    def streams(self) -> frozenset[Stream]:
        """Return the one stream the file holds."""
        if self.kind == "trades":
            return frozenset({Stream.TRADES})
        return frozenset({Stream.FUNDING_RATES if self.kind == "funding_rate" else Stream.OHLCV})

    def parts(self, stream: Stream, identity: Identity) -> Iterator[Part]:
        """Yield the whole file as one part (freqtrade files hold at most a few hundred thousand rows)."""
        frame, shapeless = self._raw
        rejections = [
            Rejection(self.name, stream, jsonable({"row": row}), f"row is not an array of {width} values")
            for row, width in shapeless
        ]
        if self.kind == "trades":
            rows, rejected = tables.trades(frame, identity, self.path, self.name, unit="ms")
        elif self.kind == "funding_rate":
            rows, rejected = self._funding(frame, identity)
        else:
            if self.kind in PRICE_CANDLES and "volume" in frame.columns:
                frame = frame.assign(volume=frame["volume"].fillna(0.0))
            rows, rejected = tables.ohlcv(frame, identity, self.path, self.name, unit="ms")
        yield rows, (*rejections, *rejected)

    @cached_property
    def _raw(self) -> tuple[pd.DataFrame, Sequence[tuple[Any, int]]]:
        """Return the file as a raw table, plus the JSON array rows of the wrong shape (row, expected width)."""
        if suffix(self.path) in (".feather", ".parquet"):
            return read_table(self.path), ()
        return json_table(load_json(self.path), self.path)

    def _funding(self, frame: pd.DataFrame, identity: Identity) -> Part:
        import pandas as pd

        checks = RowChecks(frame, stream=Stream.FUNDING_RATES, source=self.name)
        raw = checks.raw
        columns = tables.identity_columns(checks, raw, identity, self.path)
        columns["ts"] = checks.timestamp(raw[tables.column(raw, tables.TIME_NAMES, "time", self.path)], "date", "ms")
        rate = tables.column(raw, ("rate", "funding_rate", "open"), "rate", self.path)
        columns["rate"] = checks.number(raw[rate], "rate")
        columns["mark_price"] = pd.Series(float("nan"), index=raw.index)
        columns["index_price"] = None
        if self.mark_path is not None:
            marks = self._marks(identity)
            columns["mark_price"] = _mark_at(columns["ts"], marks, identity.timeframe)
        return checks.split(columns)

    def _marks(self, identity: Identity) -> pd.DataFrame:
        import pandas as pd

        assert self.mark_path is not None
        marks = FreqtradeSource(
            self.mark_path, venue=identity.venue, symbol=identity.symbol, timeframe=identity.timeframe
        )
        frames = [batch.frame[["ts", "open"]] for batch in marks.read(Stream.OHLCV)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"ts": [], "open": []})

    def _sibling_mark(self) -> Path | None:
        name = freqtrade_name(self.path)
        if name is None or name.kind != "funding_rate":
            return None
        pair = stem(self.path).split("-")[0]
        for ending in SUFFIXES:
            candidate = self.path.with_name(f"{pair}-{name.timeframe}-mark{ending}")
            if candidate.is_file():
                return candidate
        return None


def _mark_at(ts: pd.Series, marks: pd.DataFrame, timeframe: str | None) -> pd.Series:
    """Return, for each funding time, the open of the mark candle it falls in (NaN if there is none)."""
    import pandas as pd

    if marks.empty:
        return pd.Series(float("nan"), index=ts.index)
    try:
        tolerance = pd.Timedelta(timeframe) if timeframe else None
    except ValueError:
        tolerance = None
    left = pd.DataFrame({"ts": ts, "order": range(len(ts))}).dropna(subset=["ts"]).sort_values("ts")
    right = marks.rename(columns={"open": "mark_price"}).sort_values("ts")
    right["ts"] = right["ts"].astype(left["ts"].dtype)
    merged = pd.merge_asof(left, right, on="ts", direction="backward", tolerance=tolerance)
    return merged.set_index("order")["mark_price"].reindex(range(len(ts))).set_axis(ts.index)


def json_table(data: Any, path: Path) -> tuple[pd.DataFrame, list[tuple[Any, int]]]:
    """Return a freqtrade JSON document as a raw table, plus the array rows of the wrong shape."""
    import pandas as pd

    if isinstance(data, dict):
        try:
            return pd.DataFrame(data), []
        except ValueError as error:
            raise FileFormatError(f"{path.name} is a JSON object but not a table of columns ({error})") from None
    if not isinstance(data, list):
        raise FileFormatError(f"{path.name} holds a JSON {type(data).__name__}, not a list of candles or trades")
    if data and all(isinstance(row, dict) for row in data):
        return pd.DataFrame.from_records(data), []
    widths = Counter(len(row) for row in data if isinstance(row, list))
    width = widths.most_common(1)[0][0] if widths else 6
    if width not in ARRAY_COLUMNS:
        raise FileFormatError(f"{path.name} holds arrays of {width} values; expected 6 (candles) or 7 (trades)")
    good = [row for row in data if isinstance(row, list) and len(row) == width]
    bad = [(row, width) for row in data if not (isinstance(row, list) and len(row) == width)]
    return pd.DataFrame(good, columns=list(ARRAY_COLUMNS[width])), bad
