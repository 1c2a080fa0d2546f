"""The Alert value: validated, immutable, serialisable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from traider.alerts import Alert


def test_alert_unknown_severity_raises_value_error() -> None:
    severity: Any = "error"
    with pytest.raises(ValueError, match="info, warning, critical"):
        Alert(severity=severity, source="execution", message="boom")


def test_alert_empty_source_raises_value_error() -> None:
    with pytest.raises(ValueError, match="source"):
        Alert(severity="info", source=" ", message="boom")


def test_alert_context_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError, match="JSON"):
        Alert(severity="info", source="execution", message="boom", context={"when": object()})


def test_alert_context_changed_by_caller_alert_unchanged() -> None:
    context = {"symbol": "BTC/USDT"}
    alert = Alert(severity="info", source="execution", message="boom", context=context)
    context["symbol"] = "ETH/USDT"
    assert alert.context == {"symbol": "BTC/USDT"}
    with pytest.raises(TypeError):
        alert.context["symbol"] = "ETH/USDT"  # type: ignore[index]


def test_alert_context_json_with_dedup_key_includes_it() -> None:
    alert = Alert(severity="warning", source="risk", message="drawdown", context={"pct": 4.2}, dedup_key="dd:1")
    assert json.loads(alert.context_json()) == {"pct": 4.2, "dedup_key": "dd:1"}


def test_alert_summary_multiline_message_keeps_first_line() -> None:
    alert = Alert(severity="critical", source="execution", message="order rejected\ntraceback...")
    assert alert.summary == "[CRITICAL] execution: order rejected"
