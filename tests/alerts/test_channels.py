"""Slack and PagerDuty senders, configured with plain arguments, against a loopback server."""

from __future__ import annotations

import pytest

from tests.alerts.http_sink import Sink, refused_base_url
from traider.alerts import Alert
from traider.alerts.channels import ChannelError, HttpPolicy, PagerDutyChannel, SlackChannel, accepts

FAST = HttpPolicy(timeout_s=2.0, connect_timeout_s=1.0, retries=1, backoff_s=0.01)
ALERT = Alert(
    severity="critical",
    source="execution",
    message="order rejected by the venue\ninsufficient balance",
    context={"symbol": "BTC/USDT", "client_order_id": "abc"},
    dedup_key="rejected:abc",
)


def test_slack_channel_send_posts_text_with_severity_source_message_context(sink: Sink) -> None:
    SlackChannel(webhook_url=f"{sink.base_url}/services/T/B/secret", policy=FAST).send(ALERT)
    assert sink.requests == [
        (
            "/services/T/B/secret",
            {
                "text": "[CRITICAL] execution: order rejected by the venue\n"
                "insufficient balance\n"
                "client_order_id: abc\n"
                "symbol: BTC/USDT\n"
                "dedup_key: rejected:abc"
            },
        )
    ]


def test_pagerduty_channel_send_posts_events_v2_trigger(sink: Sink) -> None:
    PagerDutyChannel(routing_key="routing-key", api_url=f"{sink.base_url}/v2/enqueue", policy=FAST).send(ALERT)
    assert sink.requests == [
        (
            "/v2/enqueue",
            {
                "routing_key": "routing-key",
                "event_action": "trigger",
                "dedup_key": "rejected:abc",
                "payload": {
                    "summary": "[CRITICAL] execution: order rejected by the venue",
                    "source": "execution",
                    "severity": "critical",
                    "custom_details": {
                        "message": "order rejected by the venue\ninsufficient balance",
                        "symbol": "BTC/USDT",
                        "client_order_id": "abc",
                    },
                },
            },
        )
    ]


def test_pagerduty_channel_alert_without_dedup_key_omits_it(sink: Sink) -> None:
    alert = Alert(severity="warning", source="risk", message="latency 900 ms")
    PagerDutyChannel(routing_key="k", api_url=f"{sink.base_url}/v2/enqueue", policy=FAST).send(alert)
    assert "dedup_key" not in sink.bodies[0]
    assert sink.bodies[0]["payload"]["severity"] == "warning"


def test_channel_server_error_retries_once_then_raises_channel_error(sink: Sink) -> None:
    sink.status = 500
    with pytest.raises(ChannelError, match=r"slack: alert not delivered after 2 attempt\(s\) \(HTTP 500\)"):
        SlackChannel(webhook_url=f"{sink.base_url}/hook", policy=FAST).send(ALERT)
    assert len(sink.requests) == 2


def test_channel_client_error_raises_without_retry(sink: Sink) -> None:
    sink.status = 400
    with pytest.raises(ChannelError, match="HTTP 400"):
        PagerDutyChannel(routing_key="k", api_url=f"{sink.base_url}/v2/enqueue", policy=FAST).send(ALERT)
    assert len(sink.requests) == 1


def test_channel_connection_refused_raises_channel_error_without_secret() -> None:
    url = f"{refused_base_url()}/services/T/B/refused-secret"
    with pytest.raises(ChannelError, match="ConnectError") as raised:
        SlackChannel(webhook_url=url, policy=FAST).send(ALERT)
    assert "refused-secret" not in str(raised.value)


def test_channel_repr_hides_secret() -> None:
    assert "s3cret" not in repr(SlackChannel(webhook_url="https://hooks.slack.com/services/s3cret"))
    assert "s3cret" not in repr(PagerDutyChannel(routing_key="s3cret"))


@pytest.mark.parametrize(("severity", "expected"), [("info", False), ("warning", True), ("critical", True)])
def test_accepts_pagerduty_default_min_severity_warning(severity: str, expected: bool) -> None:
    alert = Alert(severity=severity, source="risk", message="m")  # type: ignore[arg-type]
    assert accepts(PagerDutyChannel(routing_key="k"), alert) is expected
