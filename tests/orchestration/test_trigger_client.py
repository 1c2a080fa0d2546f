"""The REST client of `traider airflow trigger` against a scripted Airflow (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from traider.orchestration.trigger import AirflowApiError, AirflowClient, trigger_dag_run

pytestmark = pytest.mark.timeout(60)


def _airflow(run_states: list[str], *, paused: bool = True) -> tuple[Callable[[httpx.Request], httpx.Response], list]:
    """Return a handler playing Airflow: one user, one DAG, a run that goes through `run_states`."""
    calls: list[tuple[str, str, object]] = []
    states = iter(run_states)

    def handler(request: httpx.Request) -> httpx.Response:  # noqa: PLR0911 (one answer per endpoint)
        body = json.loads(request.content) if request.content else None
        calls.append((request.method, request.url.path, body))
        if request.url.path == "/auth/token":
            if body == {"username": "ci", "password": "right"}:
                return httpx.Response(201, json={"access_token": "token-1"})
            return httpx.Response(401, json={"detail": "Invalid credentials"})
        if request.headers.get("Authorization") != "Bearer token-1":
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if request.url.path == "/api/v2/dags/live_replay" and request.method == "GET":
            return httpx.Response(200, json={"dag_id": "live_replay", "is_paused": paused})
        if request.url.path == "/api/v2/dags/live_replay" and request.method == "PATCH":
            return httpx.Response(200, json={"dag_id": "live_replay", "is_paused": False})
        if request.url.path == "/api/v2/dags/live_replay/dagRuns" and request.method == "POST":
            return httpx.Response(200, json={"dag_run_id": "manual__1+00:00", "state": "queued"})
        if request.url.raw_path.decode() == "/api/v2/dags/live_replay/dagRuns/manual__1%2B00%3A00":
            return httpx.Response(200, json={"dag_run_id": "manual__1+00:00", "state": next(states)})
        if request.url.path.endswith("/taskInstances"):
            tasks = [{"task_id": "replay", "state": "running", "try_number": 1, "map_index": -1, "duration": None}]
            return httpx.Response(200, json={"task_instances": tasks, "total_entries": 1})
        return httpx.Response(404, json={"detail": "The Dag with dag_id: `other` was not found"})

    return handler, calls


def _client(handler: Callable[[httpx.Request], httpx.Response], password: str = "right") -> AirflowClient:
    return AirflowClient("http://airflow.test", "ci", password, transport=httpx.MockTransport(handler))


def test_unpauses_triggers_with_conf_and_waits_for_success() -> None:
    handler, calls = _airflow(["running", "running", "success"])
    lines: list[str] = []
    result = trigger_dag_run(_client(handler), "live_replay", {"day": "2024-01-02"}, poll_s=0.01, report=lines.append)
    assert result.succeeded and result.unpaused and result.run_id == "manual__1+00:00"
    assert ("PATCH", "/api/v2/dags/live_replay", {"is_paused": False}) in calls
    posted = next(body for method, path, body in calls if method == "POST" and path.endswith("/dagRuns"))
    assert posted["conf"] == {"day": "2024-01-02"} and posted["logical_date"]  # type: ignore[index]
    assert lines[0] == "live_replay was paused: unpaused it" and lines[-1].endswith(": success")


def test_a_run_still_going_at_the_timeout_is_reported_as_timed_out() -> None:
    handler, _ = _airflow(["running"] * 1000, paused=False)
    result = trigger_dag_run(_client(handler), "live_replay", timeout_s=0.3, poll_s=0.05)
    assert result.timed_out and not result.succeeded and result.state == "running"
    assert [task.task_id for task in result.tasks] == ["replay"]


def test_failed_run_is_a_result_not_an_error() -> None:
    handler, _ = _airflow(["failed"], paused=False)
    result = trigger_dag_run(_client(handler), "live_replay", poll_s=0.01)
    assert result.state == "failed" and not result.timed_out and not result.succeeded


def test_refused_credentials_and_unknown_dag_are_one_line_errors() -> None:
    handler, _ = _airflow(["success"])
    with pytest.raises(AirflowApiError, match=r"refused the credentials of user 'ci' \(HTTP 401\)") as refused:
        trigger_dag_run(_client(handler, password="wrong"), "live_replay")
    with pytest.raises(AirflowApiError, match="has no DAG 'other'") as unknown:
        trigger_dag_run(_client(handler), "other")
    for error in (refused.value, unknown.value):
        assert "\n" not in str(error) and error.exit_code == 2
