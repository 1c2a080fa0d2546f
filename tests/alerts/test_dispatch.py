"""raise_alert end to end: ops.alerts as traider_app, the log, and channels configured by Airflow connections."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tests.alerts.conftest import ROUTING_KEY, SLACK_TOKEN_PATH
from tests.alerts.http_sink import Sink, refused_base_url
from traider.alerts import Alert, raise_alert
from traider.db.engine import make_engine

ALERT = Alert(
    severity="critical",
    source="execution",
    message="order rejected by the venue",
    context={"client_order_id": "abc"},
    dedup_key="rejected:abc",
)


def stored(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT severity, source, message FROM ops.alerts ORDER BY id"))
        return [(row.severity, row.source, row.message) for row in rows]


def test_raise_alert_nothing_configured_only_ops_alerts_and_log(
    clean_tables: Engine, app_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    result = raise_alert(app_engine, ALERT)
    assert result.delivered == () and result.failed == ()
    assert result.alert_id is not None
    assert stored(clean_tables) == [("critical", "execution", "order rejected by the venue")]
    assert [r.levelno for r in caplog.records if "order rejected" in r.getMessage()] == [logging.ERROR]


@pytest.mark.usefixtures("clean_tables")
def test_raise_alert_both_configured_payloads_received_and_secrets_not_logged(
    app_engine: Engine,
    sink: Sink,
    slack_at: Callable[[str], str],
    pagerduty_at: Callable[[str], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack_at(sink.base_url)
    pagerduty_at(sink.base_url)
    caplog.set_level(logging.DEBUG)
    result = raise_alert(app_engine, ALERT)
    assert result.delivered == ("slack", "pagerduty")
    assert sink.requests == [
        (
            f"/{SLACK_TOKEN_PATH}",
            {
                "text": "[CRITICAL] execution: order rejected by the venue\nclient_order_id: abc\ndedup_key: rejected:abc"
            },
        ),
        (
            "/v2/enqueue",
            {
                "routing_key": ROUTING_KEY,
                "event_action": "trigger",
                "dedup_key": "rejected:abc",
                "payload": {
                    "summary": "[CRITICAL] execution: order rejected by the venue",
                    "source": "execution",
                    "severity": "critical",
                    "custom_details": {"message": "order rejected by the venue", "client_order_id": "abc"},
                },
            },
        ),
    ]
    assert stored(app_engine) == [("critical", "execution", "order rejected by the venue")]
    assert "alert sent to slack" in caplog.text and "alert sent to pagerduty" in caplog.text
    assert "slack-secret-token" not in caplog.text
    assert ROUTING_KEY not in caplog.text


@pytest.mark.usefixtures("clean_tables")
@pytest.mark.parametrize("failure", ["http_500", "refused"])
def test_raise_alert_channel_down_warns_and_keeps_alert(
    app_engine: Engine,
    sink: Sink,
    slack_at: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    sink.status = 500
    slack_at(sink.base_url if failure == "http_500" else refused_base_url())
    caplog.set_level(logging.DEBUG)
    result = raise_alert(app_engine, ALERT)
    assert result.failed == ("slack",)
    problem = "(HTTP 500)" if failure == "http_500" else "(ConnectError: "
    [original, warning] = stored(app_engine)
    assert original == ("critical", "execution", "order rejected by the venue")
    assert warning[:2] == ("warning", "alerts")
    assert warning[2].startswith(
        f"alert not delivered to slack: slack: alert not delivered after 2 attempt(s) {problem}"
    )
    assert any(
        r.levelno == logging.WARNING and "alert not delivered to slack" in r.getMessage() for r in caplog.records
    )
    assert "slack-secret-token" not in caplog.text


def test_raise_alert_info_below_pagerduty_threshold_not_paged(
    clean_tables: Engine, app_engine: Engine, sink: Sink, pagerduty_at: Callable[[str], None]
) -> None:
    pagerduty_at(sink.base_url)
    result = raise_alert(app_engine, Alert(severity="info", source="execution", message="worker started"))
    assert result.delivered == () and sink.requests == []
    assert stored(clean_tables) == [("info", "execution", "worker started")]


def test_raise_alert_with_connection_joins_callers_transaction(clean_tables: Engine, app_engine: Engine) -> None:
    with app_engine.connect() as connection:
        raise_alert(connection, ALERT, channels=[])
        connection.rollback()
    assert stored(clean_tables) == []


def test_raise_alert_database_down_still_sends_to_channels(
    database_url: URL, sink: Sink, slack_at: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    slack_at(sink.base_url)
    engine = make_engine(database_url.set(host="127.0.0.1", port=1), connect_timeout_s=1)
    try:
        result = raise_alert(engine, ALERT)
    finally:
        engine.dispose()
    assert result.alert_id is None and result.delivered == ("slack",)
    assert "alert not stored in ops.alerts (OperationalError" in caplog.text
