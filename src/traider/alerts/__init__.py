"""Alerts: `ops.alerts` and the log always; Slack and PagerDuty when their Airflow connections exist."""

from __future__ import annotations

from traider.alerts.dispatch import DispatchResult, raise_alert
from traider.alerts.model import Alert, Severity
from traider.alerts.no_tick import NoTickMonitor
from traider.alerts.store import record_alert

__all__ = ["Alert", "DispatchResult", "NoTickMonitor", "Severity", "raise_alert", "record_alert"]
