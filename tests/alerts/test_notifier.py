"""TraiderNotifier as an Airflow failure callback, called with a minimal fake context."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from traider.config import get_settings


@pytest.fixture
def notifier() -> Any:
    """The notifier module, imported once the session's Airflow home is set."""
    from traider.alerts import notifier

    return notifier


def failure_context() -> dict[str, Any]:
    task_instance = SimpleNamespace(dag_id="ingest_ohlcv", task_id="check_quality", try_number=2, map_index=-1)
    return {
        "task_instance": task_instance,
        "ti": task_instance,
        "run_id": "scheduled__2026-11-23T00:00:00+00:00",
        "exception": ValueError("expectation failed: close > 0\nTraceback (most recent call last): ..."),
    }


@pytest.fixture
def settings_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point TRAIDER's settings at a database URL for the duration of a test."""

    def point(url: URL) -> None:
        monkeypatch.setenv("TRAIDER_DATABASE_URL", url.render_as_string(hide_password=False))
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


def test_alert_from_context_names_dag_task_run_and_first_line_of_exception(notifier: Any) -> None:
    alert = notifier.alert_from_context(failure_context(), source="data_quality", severity="critical")
    assert alert.message == (
        "task ingest_ohlcv.check_quality failed in run scheduled__2026-11-23T00:00:00+00:00: "
        "ValueError: expectation failed: close > 0"
    )
    assert dict(alert.context) == {
        "dag_id": "ingest_ohlcv",
        "task_id": "check_quality",
        "run_id": "scheduled__2026-11-23T00:00:00+00:00",
        "error": "ValueError: expectation failed: close > 0",
        "try_number": 2,
        "map_index": -1,
    }
    assert alert.dedup_key == "airflow:ingest_ohlcv:check_quality:scheduled__2026-11-23T00:00:00+00:00"


def test_alert_from_context_dag_level_uses_reason(notifier: Any) -> None:
    context = {"dag": SimpleNamespace(dag_id="train"), "run_id": "manual__1", "reason": "task_failure"}
    alert = notifier.alert_from_context(context, source="airflow", severity="warning")
    assert alert.message == "DAG train failed in run manual__1: task_failure"


def test_traider_notifier_called_with_fake_context_records_alert_naming_dag_and_task(
    clean_tables: Engine, database_url: URL, settings_on: Any, notifier: Any
) -> None:
    settings_on(database_url)
    notifier.TraiderNotifier(source="data_quality")(failure_context())
    with clean_tables.connect() as connection:
        row = connection.execute(text("SELECT severity, source, message, context FROM ops.alerts")).one()
    assert (row.severity, row.source) == ("critical", "data_quality")
    assert "ingest_ohlcv.check_quality" in row.message
    assert row.context["dag_id"] == "ingest_ohlcv" and row.context["task_id"] == "check_quality"


def test_traider_notifier_database_unreachable_logs_and_does_not_raise(
    database_url: URL, settings_on: Any, notifier: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings_on(database_url.set(host="127.0.0.1", port=1))
    result = notifier.TraiderNotifier(source="data_quality").raise_for(failure_context())
    assert result.alert_id is None
    assert "alert database unavailable" in caplog.text
    assert "ingest_ohlcv.check_quality" in caplog.text
