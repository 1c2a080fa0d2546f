"""The data interval a suite checks: [start, end) on the table's time column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Window:
    """The data interval [start, end) on the table's time column, in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("the window's start and end must be timezone-aware")
        if not self.start < self.end:
            raise ValueError(f"the window must end after it starts: [{self.start}, {self.end})")

    @property
    def start_sql(self) -> str:
        """Return the start as a SQL timestamptz literal."""
        return _timestamp(self.start)

    @property
    def end_sql(self) -> str:
        """Return the end as a SQL timestamptz literal."""
        return _timestamp(self.end)


def _timestamp(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment.astimezone(UTC).isoformat()}'"
