"""Raising an alert: always `ops.alerts` and the log, then every configured channel.

A channel that fails never raises into the caller: the failure is logged and stored as a warning alert.
`TraiderNotifier` (the Airflow callback) lives in `traider.alerts.notifier` and is re-exported here lazily,
so raising an alert from the worker does not import Airflow unless channels are looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from traider.alerts.channels import Channel, accepts, redact
from traider.alerts.model import Alert
from traider.alerts.store import log_alert, record_alert
from traider.errors import TraiderError

logger = logging.getLogger(__name__)

ALERTS_SOURCE = "alerts"


@dataclass(frozen=True)
class DispatchResult:
    """What became of one alert: its `ops.alerts` id (None when not stored) and the channels it reached."""

    alert_id: int | None
    delivered: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


def raise_alert(
    target: Engine | Connection | None, alert: Alert, *, channels: Sequence[Channel] | None = None
) -> DispatchResult:
    """Store and log `alert`, then send it to `channels` (default: those configured by Airflow connections).

    With an Engine the alert is committed in a transaction of its own; with a Connection it joins the
    caller's transaction (and a database error is re-raised after the channels are tried); with None it
    is only logged and sent.
    """
    database_error: Exception | None = None
    try:
        alert_id = _store(target, alert)
    except (SQLAlchemyError, TraiderError) as error:  # e.g. server down, or SET ROLE refused
        database_error, alert_id = error, None
        logger.error("alert not stored in ops.alerts (%s); sending it anyway", _one_line(error))
        log_alert(alert)
    if channels is None:
        channels = _configured_channels()
    delivered: list[str] = []
    failed: list[str] = []
    for channel in channels:
        if not accepts(channel, alert):
            logger.debug("alert channel %s skipped: alert below %s", channel.name, channel.min_severity)
        elif _send(channel, alert, alert_id, None if database_error else target):
            delivered.append(channel.name)
        else:
            failed.append(channel.name)
    if database_error is not None and isinstance(target, Connection):
        raise database_error
    return DispatchResult(alert_id=alert_id, delivered=tuple(delivered), failed=tuple(failed))


def _store(target: Engine | Connection | None, alert: Alert) -> int | None:
    if target is None:
        log_alert(alert)
        return None
    if isinstance(target, Engine):
        with target.begin() as connection:
            return record_alert(connection, alert)
    return record_alert(target, alert)


def _send(channel: Channel, alert: Alert, alert_id: int | None, target: Engine | Connection | None) -> bool:
    try:
        channel.send(alert)
    except Exception as error:  # a channel must never break the caller
        failure = Alert(
            severity="warning",
            source=ALERTS_SOURCE,
            message=f"alert not delivered to {channel.name}: {redact(str(error))}",
            context={"channel": channel.name, "alert_id": alert_id, "alert": alert.summary},
            dedup_key=f"{ALERTS_SOURCE}:{channel.name}",
        )
        try:
            _store(target, failure)
        except (SQLAlchemyError, TraiderError) as database_error:
            logger.error("channel failure not stored in ops.alerts (%s)", _one_line(database_error))
            log_alert(failure)
        return False
    logger.info("alert sent to %s: %s", channel.name, alert.summary)
    return True


def _configured_channels() -> list[Channel]:
    from traider.alerts.connections import configured_channels

    try:
        return configured_channels()
    except Exception as error:  # Airflow missing or misconfigured: alerts still reach ops.alerts and the log
        logger.warning("alert channels not looked up (%s: %s)", type(error).__name__, redact(str(error)))
        return []


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return redact(f"{type(error).__name__}: {lines[0] if lines else ''}")


def __getattr__(name: str) -> Any:
    if name == "TraiderNotifier":
        from traider.alerts.notifier import TraiderNotifier

        return TraiderNotifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
