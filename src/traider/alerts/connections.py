"""Alert channels configured by Airflow connections (any secrets backend, or `AIRFLOW_CONN_*` variables).

| conn id | field | meaning |
|---|---|---|
| `traider_slack` | `password` | incoming-webhook URL (`https://hooks.slack.com/services/T…/B…/…`) or its token path |
| `traider_slack` | `host` | base URL for a token path (full URL, or host[:port][/schema]); default Slack's |
| `traider_pagerduty` | `password` | routing (integration) key of an Events API v2 integration |
| `traider_pagerduty` | `host` | Events API URL override; default `https://events.pagerduty.com/v2/enqueue` |
| both | `extra.min_severity` | least severity sent: `info`/`warning`/`critical` (Slack `info`, PagerDuty `warning`) |
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from traider.alerts.channels import (
    PAGERDUTY_EVENTS_URL,
    Channel,
    PagerDutyChannel,
    SlackChannel,
    register_secret,
)
from traider.alerts.model import SEVERITIES, Severity

if TYPE_CHECKING:
    from airflow.sdk import Connection

logger = logging.getLogger(__name__)

SLACK_CONN_ID = "traider_slack"
PAGERDUTY_CONN_ID = "traider_pagerduty"
SLACK_WEBHOOK_BASE = "https://hooks.slack.com/services"


def configured_channels() -> list[Channel]:
    """Return the channels whose Airflow connection exists; the others are skipped with a debug line."""
    builders: tuple[tuple[str, Callable[[Connection], Channel]], ...] = (
        (SLACK_CONN_ID, slack_from_connection),
        (PAGERDUTY_CONN_ID, pagerduty_from_connection),
    )
    channels: list[Channel] = []
    for conn_id, build in builders:
        connection = _lookup(conn_id)
        if connection is None:
            continue
        try:
            channels.append(build(connection))
        except ValueError as error:
            logger.warning("alert channel %s skipped: %s", conn_id, error)
    return channels


def slack_from_connection(connection: Connection) -> SlackChannel:
    """Build the Slack channel from a connection: webhook URL (or token path) in `password`."""
    secret = _required(connection, "password", "the Slack incoming-webhook URL")
    register_secret(secret)
    if "://" in secret:
        url = secret
    else:
        base = _endpoint(connection) or SLACK_WEBHOOK_BASE
        url = f"{base.rstrip('/')}/{secret.lstrip('/')}"
    return SlackChannel(webhook_url=url, min_severity=_min_severity(connection, "info"))


def pagerduty_from_connection(connection: Connection) -> PagerDutyChannel:
    """Build the PagerDuty channel from a connection: routing key in `password`, API URL override in `host`."""
    routing_key = _required(connection, "password", "the PagerDuty routing key")
    api_url = _endpoint(connection) or PAGERDUTY_EVENTS_URL
    return PagerDutyChannel(routing_key=routing_key, api_url=api_url, min_severity=_min_severity(connection, "warning"))


def _lookup(conn_id: str) -> Connection | None:
    with root_logging_preserved():
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection: Connection = Connection.get(conn_id)
    except AirflowNotFoundException:
        logger.debug("alert channel %s not configured (no Airflow connection %r); skipped", conn_id, conn_id)
        return None
    except Exception as error:  # a secrets backend may fail in any way; alerting must go on
        reason = type(error).__name__
        logger.warning("alert channel %s skipped: cannot read its Airflow connection (%s)", conn_id, reason)
        return None
    return connection


@contextmanager
def root_logging_preserved() -> Iterator[None]:
    """Undo the root-logger handlers and level that a first `import airflow` installs in a non-Airflow process."""
    if "airflow" in sys.modules:
        yield
        return
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _required(connection: Connection, field: str, meaning: str) -> str:
    value: Any = getattr(connection, field, None)
    if not value:
        raise ValueError(f"Airflow connection {connection.conn_id!r}: set `{field}` to {meaning}")
    return str(value)


def _endpoint(connection: Connection) -> str | None:
    """Return `host` when it is a full URL, else `https://host[:port][/schema]` (the URI form), or None."""
    host = connection.host
    if not host:
        return None
    if "://" in host:
        return host
    port = f":{connection.port}" if connection.port else ""
    path = f"/{connection.schema.strip('/')}" if connection.schema else ""
    return f"https://{host}{port}{path}"


def _min_severity(connection: Connection, default: Severity) -> Severity:
    value = connection.extra_dejson.get("min_severity", default)
    for severity in SEVERITIES:
        if value == severity:
            return severity
    raise ValueError(
        f"Airflow connection {connection.conn_id!r}: extra.min_severity {value!r} is not one of {', '.join(SEVERITIES)}"
    )
