"""Senders of alerts to Slack (incoming webhook) and PagerDuty (Events API v2), over httpx.

Every sender takes its endpoint and secret as plain arguments; `traider.alerts.connections` builds
them from Airflow connections. A send that fails raises `ChannelError` with a message free of secrets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import httpx

from traider.alerts.model import SEVERITIES, Alert, Severity
from traider.errors import TraiderError

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SLACK_TEXT_LIMIT = 3000
PAGERDUTY_SUMMARY_LIMIT = 1024
MIN_REDACTED_LENGTH = 8  # shorter strings are not real secrets, and replacing them would garble every log line
_RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})


class ChannelError(TraiderError):
    """An alert could not be delivered to a channel."""


class Channel(Protocol):
    """Where alerts go besides `ops.alerts`: a name, the least severity it takes, and a sender."""

    @property
    def name(self) -> str:
        """Return the channel's name, as used in logs and `ops.alerts`."""

    @property
    def min_severity(self) -> Severity:
        """Return the least severity the channel takes."""

    def send(self, alert: Alert) -> None:
        """Deliver `alert`, or raise `ChannelError`."""


def accepts(channel: Channel, alert: Alert) -> bool:
    """Return True when `alert` is at least as severe as the channel's `min_severity`."""
    return SEVERITIES.index(alert.severity) >= SEVERITIES.index(channel.min_severity)


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retries of one delivery: `retries` more attempts after the first, `backoff_s` apart."""

    timeout_s: float = 3.0
    connect_timeout_s: float = 2.0
    retries: int = 1
    backoff_s: float = 0.5


@dataclass(frozen=True)
class SlackChannel:
    """A Slack incoming webhook; the URL itself is the secret."""

    webhook_url: str = field(repr=False)
    min_severity: Severity = "info"
    policy: HttpPolicy = HttpPolicy()
    name: ClassVar[str] = "slack"

    def __post_init__(self) -> None:
        register_secret(self.webhook_url)

    def send(self, alert: Alert) -> None:
        """Post the alert as `{"text": ...}` to the webhook."""
        post_json(self.name, self.webhook_url, slack_payload(alert), self.policy)


@dataclass(frozen=True)
class PagerDutyChannel:
    """A PagerDuty service integration (Events API v2), addressed by its routing key."""

    routing_key: str = field(repr=False)
    api_url: str = PAGERDUTY_EVENTS_URL
    min_severity: Severity = "warning"
    policy: HttpPolicy = HttpPolicy()
    name: ClassVar[str] = "pagerduty"

    def __post_init__(self) -> None:
        register_secret(self.routing_key)

    def send(self, alert: Alert) -> None:
        """Post a `trigger` event for the alert."""
        post_json(self.name, self.api_url, pagerduty_payload(alert, self.routing_key), self.policy)


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Return the webhook body: one text with severity, source, message and the context lines."""
    lines = [alert.summary, *alert.message.strip().splitlines()[1:]]
    lines += [f"{key}: {value}" for key, value in sorted(alert.context.items())]
    if alert.dedup_key is not None:
        lines.append(f"dedup_key: {alert.dedup_key}")
    return {"text": _truncate("\n".join(lines), SLACK_TEXT_LIMIT)}


def pagerduty_payload(alert: Alert, routing_key: str) -> dict[str, Any]:
    """Return the Events API v2 `trigger` body; PagerDuty derives a dedup key when the alert has none."""
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": "trigger"}
    if alert.dedup_key is not None:
        event["dedup_key"] = alert.dedup_key
    event["payload"] = {
        "summary": _truncate(alert.summary, PAGERDUTY_SUMMARY_LIMIT),
        "source": alert.source,
        "severity": alert.severity,
        "custom_details": {"message": alert.message, **alert.context},
    }
    return event


def post_json(channel: str, url: str, payload: Mapping[str, Any], policy: HttpPolicy) -> None:
    """POST `payload` to `url`, retrying transport errors and 429/5xx; raise `ChannelError` when all fail."""
    timeout = httpx.Timeout(policy.timeout_s, connect=policy.connect_timeout_s)
    problem = "not attempted"
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in range(policy.retries + 1):
            if attempt:
                time.sleep(policy.backoff_s)
            try:
                response = client.post(url, json=payload)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {redact(str(error))}"
                continue
            if response.is_success:
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code not in _RETRIED_STATUS:
                break
    raise ChannelError(f"{channel}: alert not delivered after {attempt + 1} attempt(s) ({problem})")


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class _SecretRedactor(logging.Filter):
    """Replace registered secrets in log records (httpx logs every request URL at INFO)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if len(secret) >= MIN_REDACTED_LENGTH:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, value: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            value = value.replace(secret, "***")
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR = _SecretRedactor()
for _logger_name in ("httpx", "httpcore"):
    logging.getLogger(_logger_name).addFilter(_REDACTOR)


def register_secret(secret: str) -> None:
    """Keep `secret` (and the path part of a URL secret) out of httpx's and our log lines."""
    _REDACTOR.add(secret)
    _, _, address = secret.partition("://")
    _REDACTOR.add(address.partition("/")[2].strip("/"))


def redact(value: str) -> str:
    """Return `value` with every registered secret replaced by `***`."""
    return _REDACTOR.redact(value)
