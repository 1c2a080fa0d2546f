"""The one interface every market-data source implements: ccxt venues, file replay, the simulator.

A source answers a `FetchRequest` with an iterator of `Batch`es: normalised rows in the stream's
canonical columns (see `records.COLUMNS`) plus the raw records it could not normalise, each with
the reason, so that nothing is dropped silently. Batches are yielded in time order and are
bounded in size, so callers can load and checkpoint as they go.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from traider.marketdata.records import Rejection, Stream

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch: one stream of one symbol on one venue over [start, end)."""

    stream: Stream
    venue: str
    symbol: str
    start: datetime | None = None
    end: datetime | None = None
    timeframe: str | None = None

    def __post_init__(self) -> None:
        if self.stream is Stream.OHLCV and not self.timeframe:
            raise ValueError("an OHLCV request needs a timeframe")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")


@dataclass(frozen=True)
class Batch:
    """Normalised rows of one stream plus the raw records that were rejected, with reasons."""

    stream: Stream
    frame: pd.DataFrame
    rejections: tuple[Rejection, ...] = field(default_factory=tuple)
    source: str = ""

    @property
    def rows_in(self) -> int:
        """Return how many raw records this batch accounts for (normalised + rejected)."""
        return len(self.frame) + len(self.rejections)


@runtime_checkable
class Source(Protocol):
    """A market-data source."""

    name: str

    def fetch(self, request: FetchRequest) -> Iterator[Batch]:
        """Yield batches answering `request`, oldest first."""
        ...
