"""`TraiderNotifier`: an Airflow callback that raises a TRAIDER alert for a failed task or DAG run.

Use it as `on_failure_callback=TraiderNotifier(source="data_quality")` on a task or a DAG.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from traider.alerts.connections import root_logging_preserved
from traider.alerts.dispatch import DispatchResult, raise_alert
from traider.alerts.model import Alert, Severity
from traider.errors import TraiderError

with root_logging_preserved():  # outside Airflow (the worker, tests) importing it must not take over logging
    from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)


class TraiderNotifier(BaseNotifier):
    """Raise an alert (ops.alerts, log, Slack, PagerDuty) naming the DAG, task, run and exception."""

    def __init__(self, *, source: str = "airflow", severity: Severity = "critical") -> None:
        super().__init__()
        self.source = source
        self.severity: Severity = severity

    def notify(self, context: Context) -> None:
        """Build the alert from the Airflow context and raise it with the application engine."""
        self.raise_for(context)

    def raise_for(self, context: Mapping[str, Any]) -> DispatchResult:
        """Raise the alert for `context`; never raise, whatever fails."""
        alert = alert_from_context(context, source=self.source, severity=self.severity)
        engine = _application_engine()
        try:
            return raise_alert(engine, alert)
        finally:
            if engine is not None:
                engine.dispose()


def alert_from_context(context: Mapping[str, Any], *, source: str, severity: Severity) -> Alert:
    """Return the alert for a failure callback's context: DAG, task, run and the exception's first line."""
    task_instance = context.get("task_instance") or context.get("ti")
    dag_id = getattr(task_instance, "dag_id", None) or getattr(context.get("dag"), "dag_id", None) or "unknown"
    task_id = getattr(task_instance, "task_id", None) or getattr(context.get("task"), "task_id", None)
    run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", None)
    problem = _first_line(context.get("exception")) or _first_line(context.get("reason")) or "no reason given"
    subject = f"task {dag_id}.{task_id}" if task_id else f"DAG {dag_id}"
    details: dict[str, Any] = {"dag_id": dag_id, "task_id": task_id, "run_id": run_id, "error": problem}
    for name in ("try_number", "map_index"):
        value = getattr(task_instance, name, None)
        if isinstance(value, int):
            details[name] = value
    return Alert(
        severity=severity,
        source=source,
        message=f"{subject} failed in run {run_id}: {problem}",
        context=details,
        dedup_key=f"airflow:{dag_id}:{task_id or '-'}:{run_id}",
    )


def _first_line(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {first}" if first else type(value).__name__
    return first or None


def _application_engine() -> Engine | None:
    from traider.config import get_settings
    from traider.db.engine import application_engine

    try:
        return application_engine(get_settings())
    except Exception as error:  # no database: the alert still goes to the log and the channels
        reason = str(error) if isinstance(error, TraiderError) else type(error).__name__
        logger.error("alert database unavailable (%s); alert only logged and sent", reason)
        return None
