"""Channels built from Airflow connections given as AIRFLOW_CONN_* environment variables."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tests.alerts.conftest import ROUTING_KEY, SLACK_TOKEN_PATH
from traider.alerts.channels import PAGERDUTY_EVENTS_URL, PagerDutyChannel, SlackChannel
from traider.alerts.connections import configured_channels


def test_configured_channels_nothing_configured_returns_empty(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="traider.alerts")
    assert configured_channels() == []
    assert "traider_slack not configured" in caplog.text
    assert all(record.levelno == logging.DEBUG for record in caplog.records if record.name.startswith("traider"))


def test_configured_channels_slack_full_url_in_password_used_as_is(slack_at: Callable[[str], str]) -> None:
    url = slack_at("http://127.0.0.1:9")
    assert configured_channels() == [SlackChannel(webhook_url=url)]


def test_configured_channels_slack_token_path_joined_to_host(configure: Callable[..., None]) -> None:
    configure("slack", {"conn_type": "slackwebhook", "host": "http://127.0.0.1:9/", "password": "/T/B/token"})
    assert configured_channels() == [SlackChannel(webhook_url="http://127.0.0.1:9/T/B/token")]


def test_configured_channels_slack_uri_form_builds_https_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TRAIDER_SLACK", "slackwebhook://:T%2FB%2Ftoken@hooks.example.com:8443/services")
    assert configured_channels() == [SlackChannel(webhook_url="https://hooks.example.com:8443/services/T/B/token")]


def test_configured_channels_slack_token_only_uses_slack_default_host(configure: Callable[..., None]) -> None:
    configure("slack", {"conn_type": "slackwebhook", "password": SLACK_TOKEN_PATH.removeprefix("services/")})
    [channel] = configured_channels()
    assert isinstance(channel, SlackChannel)
    assert channel.webhook_url == f"https://hooks.slack.com/{SLACK_TOKEN_PATH}"


def test_configured_channels_pagerduty_defaults_to_public_events_api(configure: Callable[..., None]) -> None:
    configure("pagerduty", {"conn_type": "pagerduty_events", "password": ROUTING_KEY})
    assert configured_channels() == [PagerDutyChannel(routing_key=ROUTING_KEY, api_url=PAGERDUTY_EVENTS_URL)]


def test_configured_channels_min_severity_from_extra(configure: Callable[..., None]) -> None:
    configure("pagerduty", {"conn_type": "pagerduty_events", "password": "k", "extra": {"min_severity": "critical"}})
    [channel] = configured_channels()
    assert channel.min_severity == "critical"


def test_configured_channels_missing_secret_skipped_with_warning(
    configure: Callable[..., None], pagerduty_at: Callable[[str], None], caplog: pytest.LogCaptureFixture
) -> None:
    configure("slack", {"conn_type": "slackwebhook", "host": "https://hooks.slack.com/services"})
    pagerduty_at("http://127.0.0.1:9")
    [channel] = configured_channels()
    assert channel.name == "pagerduty"
    assert "traider_slack skipped: Airflow connection 'traider_slack': set `password`" in caplog.text


def test_configured_channels_unknown_min_severity_skipped_with_warning(
    configure: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    configure("slack", {"conn_type": "slackwebhook", "password": "T/B/x", "extra": {"min_severity": "loud"}})
    assert configured_channels() == []
    assert "'loud' is not one of info, warning, critical" in caplog.text
