"""Latency between a decision and its fill: the order meets the market as it is at fill time."""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """A fixed delay from the decision to the order reaching the venue (0 by default)."""

    latency: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.latency < timedelta(0):
            raise ValueError(f"latency must be >= 0, not {self.latency}")

    def fill_time(self, decision_time: datetime) -> datetime:
        """Return when an order decided at `decision_time` reaches the venue."""
        return decision_time + self.latency

    def at_fill(self, decision_time: datetime, lookup: Callable[[datetime], T]) -> T:
        """Return what `lookup` (a book or price by time) gives at the fill time, not the decision time."""
        return lookup(self.fill_time(decision_time))


def asof_lookup(times: Sequence[datetime], values: Sequence[T]) -> Callable[[datetime], T]:
    """Return a lookup giving the last value stamped at or before a time (times must ascend).

    Asking for a time before the first stamp raises `LookupError`: nothing was known then.
    """
    if len(times) != len(values):
        raise ValueError(f"times and values differ in length ({len(times)} != {len(values)})")
    if any(later < earlier for earlier, later in itertools.pairwise(times)):
        raise ValueError("times must be in ascending order")
    stamps = list(times)

    def lookup(when: datetime) -> T:
        index = bisect_right(stamps, when) - 1
        if index < 0:
            first = stamps[0].isoformat() if stamps else "none"
            raise LookupError(f"no value at or before {when.isoformat()} (the first is at {first})")
        return values[index]

    return lookup
