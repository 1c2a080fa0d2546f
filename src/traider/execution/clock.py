"""Clocks: live and backtest differ in the clock (and the broker) only."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What time it is, in nanoseconds since the epoch (UTC)."""

    def now(self) -> int:
        """Return the current time in ns."""
        ...


class WallClock:
    """The real time, for the live worker."""

    def now(self) -> int:
        """Return the system time in ns."""
        return time.time_ns()


class SimulatedClock:
    """Time as the replayed events say: it only moves forward, and only when told."""

    __slots__ = ("_now",)

    def __init__(self, start: int = 0) -> None:
        self._now = start

    def now(self) -> int:
        """Return the time of the last event processed."""
        return self._now

    def advance(self, to: int) -> None:
        """Move to `to` ns; going back in time is an error (events must be replayed in order)."""
        if to < self._now:
            raise ValueError(f"the simulated clock cannot go back from {self._now} to {to}: events out of order")
        self._now = to


def utc_datetime(nanoseconds: int) -> datetime:
    """Return the UTC datetime of a time in ns since the epoch (microsecond precision, as PostgreSQL keeps)."""
    return datetime.fromtimestamp(nanoseconds / 1e9, tz=UTC)


def epoch_nanoseconds(moment: datetime) -> int:
    """Return a stored (timezone-aware, microsecond) time in ns since the epoch: the inverse of `utc_datetime`."""
    return int(moment.timestamp() * 1_000_000) * 1_000
