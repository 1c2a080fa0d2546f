"""The outcome of a suite run, and writing it to `ops.quality_results` and `ops.alerts`."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

ALERT_SOURCE = "data_quality"

_UPSERT_RESULT = text(
    "INSERT INTO ops.quality_results (run_id, suite, table_name, expectation, success, observed, "
    "data_interval_start, data_interval_end) "
    "VALUES (:run_id, :suite, :table_name, :expectation, :success, CAST(:observed AS jsonb), :start, :end) "
    "ON CONFLICT ON CONSTRAINT quality_results_once_per_run DO UPDATE SET "
    "table_name = EXCLUDED.table_name, success = EXCLUDED.success, observed = EXCLUDED.observed, "
    "data_interval_start = EXCLUDED.data_interval_start, data_interval_end = EXCLUDED.data_interval_end, "
    "checked_at = now()"
)
_INSERT_ALERT_ONCE = text(
    "INSERT INTO ops.alerts (severity, source, message, context) "
    "SELECT 'critical', :source, :message, CAST(:context AS jsonb) "
    "WHERE NOT EXISTS (SELECT 1 FROM ops.alerts WHERE source = :source "
    "AND context ->> 'run_id' = :run_id AND context ->> 'suite' = :suite)"
)


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome: observed values, how many rows broke it, a few of them."""

    name: str
    expectation_type: str
    success: bool
    observed: Mapping[str, Any] = field(default_factory=dict)
    sample: tuple[Any, ...] = ()
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return what is stored in `ops.quality_results.observed`."""
        document: dict[str, Any] = {"type": self.expectation_type, **self.observed, "sample": list(self.sample)}
        if self.error is not None:
            document["error"] = self.error
        return document


@dataclass(frozen=True)
class SuiteResult:
    """A suite's outcome for one table and window; `data_docs` is the Data Docs index, when built."""

    suite: str
    table: str
    success: bool
    expectations: tuple[ExpectationResult, ...]
    data_docs: Path | None = None

    @property
    def failed(self) -> tuple[ExpectationResult, ...]:
        """Return the expectations that did not pass."""
        return tuple(result for result in self.expectations if not result.success)

    def expectation(self, name: str) -> ExpectationResult:
        """Return the result of the expectation called `name`; raise KeyError when there is none."""
        for result in self.expectations:
            if result.name == name:
                return result
        raise KeyError(name)

    def summary(self) -> str:
        """Return one line naming the table and the failed expectations."""
        if self.success:
            return f"{self.table}: all {len(self.expectations)} expectations of suite {self.suite} passed"
        names = ", ".join(result.name for result in self.failed)
        return f"{self.table}: {len(self.failed)} of {len(self.expectations)} expectations failed: {names}"


def record_results(connection: Connection, run_id: str, result: SuiteResult, start: datetime, end: datetime) -> None:
    """Write one `ops.quality_results` row per expectation and, on failure, one critical alert.

    Runs in the caller's transaction. Re-recording the same run replaces its rows (the latest outcome
    wins) and raises no second alert.
    """
    connection.execute(
        _UPSERT_RESULT,
        [
            {
                "run_id": run_id,
                "suite": result.suite,
                "table_name": result.table,
                "expectation": expectation.name,
                "success": expectation.success,
                "observed": to_json(expectation.as_json()),
                "start": start,
                "end": end,
            }
            for expectation in result.expectations
        ],
    )
    if result.success:
        return
    context = {
        "run_id": run_id,
        "suite": result.suite,
        "table": result.table,
        "data_interval_start": start,
        "data_interval_end": end,
        "failed": [expectation.name for expectation in result.failed],
        "data_docs": result.data_docs,
    }
    connection.execute(
        _INSERT_ALERT_ONCE,
        {
            "source": ALERT_SOURCE,
            "message": f"data quality gate failed for {result.table} [{start.isoformat()}, {end.isoformat()}): "
            + ", ".join(expectation.name for expectation in result.failed),
            "context": to_json(context),
            "run_id": run_id,
            "suite": result.suite,
        },
    )


def to_json(value: Any) -> str:
    """Serialise `value` for a jsonb column: timestamps as ISO 8601, non-finite floats as strings."""
    return json.dumps(_plain(value), sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _plain(value.tolist())
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    elif isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)
