"""Writing alerts to `ops.alerts` and to the log."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, text

from traider.alerts.model import Alert, Severity

logger = logging.getLogger(__name__)

LOG_LEVELS: dict[Severity, int] = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}

_INSERT_ALERT = text(
    "INSERT INTO ops.alerts (severity, source, message, context) "
    "VALUES (:severity, :source, :message, CAST(:context AS jsonb)) RETURNING id"
)


def record_alert(connection: Connection, alert: Alert) -> int:
    """Insert `alert` into `ops.alerts` in the caller's transaction, log it, and return its id."""
    alert_id: int = connection.execute(
        _INSERT_ALERT,
        {
            "severity": alert.severity,
            "source": alert.source,
            "message": alert.message,
            "context": alert.context_json(),
        },
    ).scalar_one()
    log_alert(alert, alert_id=alert_id)
    return alert_id


def log_alert(alert: Alert, *, alert_id: int | None = None) -> None:
    """Log `alert` at the level its severity calls for (info, warning or error)."""
    stored = f" (ops.alerts id {alert_id})" if alert_id is not None else " (not stored)"
    logger.log(LOG_LEVELS[alert.severity], "alert %s%s context=%s", alert.summary, stored, alert.context_json())
