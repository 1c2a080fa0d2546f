"""Defaults every TRAIDER DAG uses: owner, retries, start date, and an alert when a task fails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from traider.alerts.notifier import TraiderNotifier

# Early enough that any historical interval can be backfilled; catchup is off, so nothing runs by itself.
START_DATE = pendulum.datetime(2010, 1, 1, tz="UTC")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "traider-data",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    # a task that fails for good raises an alert: ops.alerts and the log, plus Slack/PagerDuty when configured
    "on_failure_callback": TraiderNotifier(source="airflow"),
}
