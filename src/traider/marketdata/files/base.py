"""What every file replay source shares: identity hints, bounded time-ordered batches, request filtering.

A reader turns one file into parts: normalised rows in a stream's canonical columns plus the raw
records it could not normalise, each with its reason. `FileSource` cuts the parts into batches of at
most `batch_rows` rows, oldest first, so that rows in = rows in the frames + rejections for the
whole file. Venue, symbol and timeframe come from the file when it records them, else from the
caller's hints, else from the file name where the format has a naming convention, and, in `fetch`,
finally from the request.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from traider.errors import TraiderError
from traider.marketdata.records import COLUMNS, Rejection, Stream
from traider.marketdata.source import Batch, FetchRequest

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_BATCH_ROWS = 100_000
TEXT_COLUMNS = frozenset({"venue", "symbol", "timeframe", "trade_id", "side"})

Part = tuple["pd.DataFrame", Sequence[Rejection]]


class FileFormatError(TraiderError):
    """A file cannot be read as market data at all (unknown format, empty, truncated, missing column)."""

    exit_code = 2


@dataclass(frozen=True)
class Identity:
    """Venue, symbol and timeframe of a file's rows, where known."""

    venue: str | None = None
    symbol: str | None = None
    timeframe: str | None = None

    def fill(self, other: Identity) -> Identity:
        """Return this identity with its unknown fields taken from `other`."""
        return Identity(**{f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)})

    def require(self, name: str, path: Path) -> str:
        """Return the field `name`, or raise a one-line error telling the caller to pass it."""
        value: str | None = getattr(self, name)
        if not value:
            raise FileFormatError(f"{path.name} does not record the {name}: pass {name}=... to the file source")
        return value


def symbol_key(symbol: str) -> str:
    """Return a symbol reduced to upper-case letters and digits, so BTC/USDT matches BTCUSDT and btc-usdt."""
    return re.sub(r"[^0-9A-Z]", "", symbol.upper())


class FileSource(ABC):
    """A market-data file replayed as a `Source`; subclasses read one format family."""

    format: ClassVar[str] = "file"

    def __init__(
        self,
        path: str | Path,
        *,
        venue: str | None = None,
        symbol: str | None = None,
        stream: Stream | None = None,
        timeframe: str | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, not {batch_rows}")
        self.path = Path(path)
        self.stream = stream
        self.batch_rows = batch_rows
        self.hints = Identity(venue, symbol, timeframe).fill(self.identity_from_name())
        self.name = f"{self.format}:{self.path}"

    @property
    @abstractmethod
    def streams(self) -> frozenset[Stream]:
        """Return the streams this file holds."""

    def identity_from_name(self) -> Identity:
        """Return what the file name says about venue, symbol and timeframe (nothing, by default)."""
        return Identity()

    @abstractmethod
    def parts(self, stream: Stream, identity: Identity) -> Iterator[Part]:
        """Yield the file's rows of `stream` as (canonical frame, rejections) parts."""

    def read(self, stream: Stream | None = None) -> Iterator[Batch]:
        """Yield every record of `stream` in the file: bounded batches, oldest first, with rejections."""
        yield from self._batches(self._choose(stream), self.hints)

    def fetch(self, request: FetchRequest) -> Iterator[Batch]:
        """Yield the rows answering `request`: its symbol (loosely compared), timeframe and [start, end).

        The request's venue, symbol and timeframe fill in what neither the file, the hints nor the
        file name give. Rejections are passed on unfiltered (the quarantine keeps each once).
        """
        stream = self._choose(request.stream)
        identity = self.hints.fill(Identity(request.venue, request.symbol, request.timeframe))
        for batch in self._batches(stream, identity):
            frame = _answering(batch.frame, request)
            if len(frame) or batch.rejections:
                yield Batch(stream, frame, batch.rejections, batch.source)

    def _choose(self, stream: Stream | None) -> Stream:
        available = self.streams
        chosen = stream or self.stream
        if chosen is None:
            if len(available) != 1:
                names = ", ".join(sorted(item.value for item in available))
                raise FileFormatError(f"{self.path.name} holds several streams ({names}): choose one")
            (chosen,) = available
        if chosen not in available:
            names = ", ".join(sorted(item.value for item in available))
            raise FileFormatError(f"{self.path.name} holds {names}, not {chosen.value}")
        return chosen

    def _batches(self, stream: Stream, identity: Identity) -> Iterator[Batch]:
        for frame, rejections in self.parts(stream, identity):
            ordered = _oldest_first(frame, stream)
            if ordered.empty:
                if rejections:
                    yield Batch(stream, ordered, tuple(rejections), self.name)
                continue
            for offset in range(0, len(ordered), self.batch_rows):
                piece = ordered.iloc[offset : offset + self.batch_rows].reset_index(drop=True)
                yield Batch(stream, piece, tuple(rejections) if offset == 0 else (), self.name)


def _oldest_first(frame: pd.DataFrame, stream: Stream) -> pd.DataFrame:
    frame = frame.loc[:, list(COLUMNS[stream])]
    for name in TEXT_COLUMNS.intersection(frame.columns):
        if frame[name].dtype != object:
            frame[name] = frame[name].astype(object)
    if not frame["ts"].is_monotonic_increasing:
        frame = frame.sort_values("ts", kind="stable")
    return frame.reset_index(drop=True)


def _answering(frame: pd.DataFrame, request: FetchRequest) -> pd.DataFrame:
    keep = frame["symbol"].map(symbol_key) == symbol_key(request.symbol)
    if request.timeframe and "timeframe" in frame.columns:
        keep &= frame["timeframe"] == request.timeframe
    if request.start is not None:
        keep &= frame["ts"] >= _utc(request.start)
    if request.end is not None:
        keep &= frame["ts"] < _utc(request.end)
    return frame[keep].reset_index(drop=True)


def _utc(moment: datetime) -> pd.Timestamp:
    import pandas as pd

    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
