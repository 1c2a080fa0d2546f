"""Fixtures of the alert tests: a private Airflow home, no channels unless a test configures one, a sink."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.alerts.http_sink import Sink, http_sink

SLACK_TOKEN_PATH = "services/T0001/B0001/slack-secret-token"
ROUTING_KEY = "pagerduty-secret-routing-key"


@pytest.fixture(scope="session", autouse=True)
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point Airflow at a throwaway home so looking up connections writes nothing elsewhere."""
    home = tmp_path_factory.mktemp("airflow-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_HOME", str(home))
        patch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        yield home


@pytest.fixture(autouse=True)
def no_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test with neither channel configured."""
    monkeypatch.delenv("AIRFLOW_CONN_TRAIDER_SLACK", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_TRAIDER_PAGERDUTY", raising=False)


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A loopback HTTP server recording what is POSTed to it."""
    with http_sink() as server:
        yield server


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Configure a channel as Airflow does: `configure("slack", {...})` sets AIRFLOW_CONN_TRAIDER_SLACK (JSON)."""

    def set_connection(channel: str, connection: dict[str, object]) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_TRAIDER_{channel.upper()}", json.dumps(connection))

    return set_connection


@pytest.fixture
def slack_at(configure: Callable[..., None]) -> Callable[[str], str]:
    """Configure Slack to post to `base_url`; return the full webhook URL (the secret)."""

    def set_slack(base_url: str) -> str:
        url = f"{base_url}/{SLACK_TOKEN_PATH}"
        configure("slack", {"conn_type": "slackwebhook", "password": url})
        return url

    return set_slack


@pytest.fixture
def pagerduty_at(configure: Callable[..., None]) -> Callable[[str], None]:
    """Configure PagerDuty with the test routing key and `base_url` as the Events API."""

    def set_pagerduty(base_url: str) -> None:
        configure(
            "pagerduty", {"conn_type": "pagerduty_events", "host": f"{base_url}/v2/enqueue", "password": ROUTING_KEY}
        )

    return set_pagerduty
