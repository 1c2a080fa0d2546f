"""Recording alerts in ops.alerts as the application role."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import Engine, text

from traider.alerts import Alert, record_alert

ALERT = Alert(
    severity="critical",
    source="execution",
    message="order rejected by the venue",
    context={"symbol": "BTC/USDT", "client_order_id": "abc"},
    dedup_key="rejected:abc",
)


def alert_rows(engine: Engine) -> list[tuple[str, str, str, dict[str, object]]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT severity, source, message, context FROM ops.alerts ORDER BY id"))
        return [(row.severity, row.source, row.message, row.context) for row in rows]


def test_record_alert_as_app_role_writes_row(clean_tables: Engine, app_engine: Engine) -> None:
    with app_engine.begin() as connection:
        alert_id = record_alert(connection, ALERT)
    assert alert_id > 0
    assert alert_rows(clean_tables) == [
        (
            "critical",
            "execution",
            "order rejected by the venue",
            {"symbol": "BTC/USDT", "client_order_id": "abc", "dedup_key": "rejected:abc"},
        )
    ]


def test_record_alert_callers_transaction_rolled_back_leaves_no_row(clean_tables: Engine, app_engine: Engine) -> None:
    with app_engine.connect() as connection:
        record_alert(connection, ALERT)
        connection.rollback()
    assert alert_rows(clean_tables) == []


@pytest.mark.parametrize(
    ("severity", "level"), [("info", logging.INFO), ("warning", logging.WARNING), ("critical", logging.ERROR)]
)
def test_record_alert_severity_logged_at_matching_level(
    clean_tables: Engine, app_engine: Engine, caplog: pytest.LogCaptureFixture, severity: str, level: int
) -> None:
    alert = Alert(severity=severity, source="risk", message="drawdown 4.2%", context={"pct": 4.2})  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG, logger="traider.alerts")
    with app_engine.begin() as connection:
        alert_id = record_alert(connection, alert)
    [record] = [r for r in caplog.records if r.name == "traider.alerts.store"]
    assert record.levelno == level
    assert f"[{severity.upper()}] risk: drawdown 4.2%" in record.getMessage()
    assert f"ops.alerts id {alert_id}" in record.getMessage()
    assert json.dumps({"pct": 4.2}) in record.getMessage()
