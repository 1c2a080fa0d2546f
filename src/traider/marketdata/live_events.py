"""What a live stream hands the worker besides trades and book snapshots: gaps, resyncs, disconnects, reconnects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from traider.marketdata.records import BookSnapshot, Trade


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class GapDetected:
    """A depth diff did not continue the book: updates were missed, so the book was discarded.

    `book_id` is the update id the book was at; `first_id`..`final_id` (and `previous_final_id` on futures) are
    the diff's ids; they are None when ccxt reported the desync itself (`detected_by` "ccxt").
    """

    venue: str
    symbol: str
    at: datetime
    detail: str
    detected_by: str = "traider"
    book_id: int | None = None
    first_id: int | None = None
    final_id: int | None = None
    previous_final_id: int | None = None


@dataclass(frozen=True, slots=True)
class Resynced:
    """A fresh snapshot rebuilt the book after a gap or a reconnect; it is at update id `sequence` now."""

    venue: str
    symbol: str
    at: datetime
    sequence: int
    reason: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A watch failed (connection lost, refused, timed out or an exchange error); it is retried in `retry_in_s`."""

    venue: str
    stream_key: str
    at: datetime
    error: str
    failures: int
    retry_in_s: float


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A stream delivers again after `failures` consecutive failed watches."""

    venue: str
    stream_key: str
    at: datetime
    failures: int


LiveEvent = Trade | BookSnapshot | GapDetected | Resynced | Disconnected | Reconnected
