"""What the per-venue cryptofeed message handlers produce, and how their rows become a canonical frame.

Handlers parse messages record by record (the recordings are small and heterogeneous), so each row
arrives typed: ts as epoch microseconds, prices and amounts as floats, snapshot sides as
(price, amount) pairs, best first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traider.marketdata.files.recording import RecordedMessage
from traider.marketdata.files.rows import jsonable
from traider.marketdata.records import COLUMNS, Rejection, Stream

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Output:
    """A normalised row of `stream` (venue left out), or the raw record and why it was rejected."""

    stream: Stream
    row: Mapping[str, Any] | None = None
    reason: str = ""
    record: Mapping[str, Any] | None = None

    def rejection(self, source: str) -> Rejection:
        """Return this rejected record as a `Rejection` of `source`."""
        return Rejection(source, self.stream, jsonable(self.record or {}), self.reason)


def rejected(stream: Stream, message: RecordedMessage, reason: str, record: Any) -> Output:
    """Return the rejection of `record` (a message or one of its levels) found at `message`'s line."""
    return Output(stream, None, reason, {"line": message.line, "record": record})


def canonical_frame(stream: Stream, venue: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Return typed rows of `stream` as a frame with exactly its canonical columns and a UTC `ts`."""
    import pandas as pd

    frame = pd.DataFrame(list(rows))
    if stream is Stream.BOOK_SNAPSHOTS and len(frame):
        for side in ("bid", "ask"):
            pairs = frame.pop(f"{side}s")
            frame[f"{side}_prices"] = [[level[0] for level in levels] for levels in pairs]
            frame[f"{side}_amounts"] = [[level[1] for level in levels] for levels in pairs]
    frame = frame.reindex(columns=list(COLUMNS[stream]))
    frame["venue"] = venue
    frame["ts"] = pd.to_datetime(frame["ts"].astype("int64"), unit="us", utc=True)
    if "sequence" in frame.columns:
        frame["sequence"] = frame["sequence"].astype("int64")
    return frame
