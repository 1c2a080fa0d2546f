"""Fault injection for the exchange emulator: the failures a live venue shows, on demand.

A `Fault` matches requests of one venue (or all) and applies to the next `count` of them, or to
every request during `duration` seconds from injection. Kinds:

- ``429``: HTTP 429 with the venue's own rate-limit error body.
- ``5xx``: HTTP 503 (or `status`) with a plain-text body, as a load balancer answers.
- ``latency``: the normal answer, after `latency_s` seconds.
- ``timeout``: no answer for `latency_s` seconds (set it above the client's timeout), then the normal answer.
- ``truncated_json``: HTTP 200 whose JSON body is cut in half (Content-Length matches the cut body).
- ``outage``: the connection is closed without any answer, as when the venue is down.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum


class FaultKind(StrEnum):
    """The kinds of injected failure."""

    RATE_LIMIT = "429"
    SERVER_ERROR = "5xx"
    LATENCY = "latency"
    TIMEOUT = "timeout"
    TRUNCATED_JSON = "truncated_json"
    OUTAGE = "outage"


@dataclass
class Fault:
    """One injected failure rule; `count` and `duration_s` bound it (neither: until cleared)."""

    kind: FaultKind
    venue: str | None = None
    count: int | None = None
    duration_s: float | None = None
    latency_s: float = 0.0
    status: int = 503
    path_contains: str | None = None
    created: float = field(default_factory=time.monotonic)
    applied: int = 0

    def matches(self, venue: str, path: str, now: float) -> bool:
        """Return True when the fault is live and applies to a request of `venue` for `path`."""
        if self.venue is not None and self.venue != venue:
            return False
        if self.path_contains is not None and self.path_contains not in path:
            return False
        return not self.expired(now)

    def expired(self, now: float) -> bool:
        """Return True once the fault has used up its count or its duration."""
        if self.count is not None and self.applied >= self.count:
            return True
        return self.duration_s is not None and now - self.created >= self.duration_s


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator received, with what it answered."""

    venue: str
    method: str
    path: str
    query: dict[str, str]
    status: int
    fault: FaultKind | None
    at: float
    client_host: str


class FaultPlan:
    """The thread-safe set of live faults and the request log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._log: list[RequestRecord] = []

    def add(self, fault: Fault) -> Fault:
        """Register a fault and return it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, venue: str, path: str) -> Fault | None:
        """Return the first live fault for this request and count it as applied, or None."""
        now = time.monotonic()
        with self._lock:
            self._faults = [fault for fault in self._faults if not fault.expired(now)]
            for fault in self._faults:
                if fault.matches(venue, path, now):
                    fault.applied += 1
                    return fault
        return None

    def record(self, entry: RequestRecord) -> None:
        """Append one request to the log."""
        with self._lock:
            self._log.append(entry)

    def log(self) -> list[RequestRecord]:
        """Return a copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._log.clear()
