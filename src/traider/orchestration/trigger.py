"""Trigger a DAG run through Airflow 3's REST API (v2) and wait for its result: what CI and operators use.

Authentication is a JWT from `POST /auth/token` (username and password). `trigger_dag_run` unpauses the DAG
when needed, creates a run (`POST /api/v2/dags/{dag_id}/dagRuns` with a logical date of now and the conf),
and with `wait` polls the run until it is finished or the time is up. Every failure to get that far (the
server does not answer, refuses the credentials, knows no such DAG, rejects the request) is an
AirflowApiError with a one-line message; a run that fails or times out is a result, not an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from traider.errors import TraiderError

FINISHED = frozenset({"success", "failed"})


class AirflowApiError(TraiderError):
    """Airflow's REST API cannot be used as asked; the message is one line."""

    exit_code = 2


class AirflowUnreachableError(AirflowApiError):
    """Airflow's api-server does not answer (refused connection, DNS failure, timeout)."""


@dataclass(frozen=True)
class TaskState:
    """One task instance of a run, as the API reports it."""

    task_id: str
    state: str | None
    try_number: int
    map_index: int = -1
    duration_s: float | None = None


@dataclass(frozen=True)
class RunResult:
    """The run as last seen: its id and state, whether the wait ran out, and its task instances."""

    dag_id: str
    run_id: str
    state: str
    timed_out: bool
    tasks: tuple[TaskState, ...] = field(default_factory=tuple)
    unpaused: bool = False

    @property
    def succeeded(self) -> bool:
        """Return True when the run finished in state success."""
        return self.state == "success" and not self.timed_out


class AirflowClient:
    """A small client of Airflow's public REST API v2 that logs in with a username and password."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._username = username
        self._password = password
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport)
        self._token: str | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def login(self) -> None:
        """Get a JWT from `POST /auth/token`; raise a one-line AirflowApiError if the credentials are refused."""
        response = self._send("POST", "/auth/token", json={"username": self._username, "password": self._password})
        if response.status_code in (401, 403):
            raise AirflowApiError(
                f"Airflow at {self.url} refused the credentials of user {self._username!r} "
                f"(HTTP {response.status_code}): check TRAIDER_AIRFLOW_USERNAME and TRAIDER_AIRFLOW_PASSWORD"
            )
        if response.status_code == 404:
            raise AirflowApiError(
                f"{self.url} has no POST /auth/token (HTTP 404): is it an Airflow 3 api-server with the simple auth "
                "manager? Check --url / TRAIDER_AIRFLOW_URL"
            )
        body = self._json(response, "log in")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AirflowApiError(f"Airflow at {self.url} answered POST /auth/token without an access token")
        self._token = token

    def get_dag(self, dag_id: str) -> dict[str, Any]:
        """Return the DAG's details; raise a one-line AirflowApiError naming the DAG if Airflow does not know it."""
        response = self._request("GET", f"/api/v2/dags/{_quoted(dag_id)}")
        if response.status_code == 404:
            raise AirflowApiError(
                f"Airflow at {self.url} has no DAG {dag_id!r} (HTTP 404): check the DAG id, and that the "
                "dag-processor parsed its file without an import error"
            )
        return _as_dict(self._json(response, f"read DAG {dag_id!r}"))

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause the DAG (`PATCH /api/v2/dags/{dag_id}`)."""
        response = self._request("PATCH", f"/api/v2/dags/{_quoted(dag_id)}", json={"is_paused": paused})
        self._json(response, f"{'pause' if paused else 'unpause'} DAG {dag_id!r}")

    def trigger(self, dag_id: str, conf: Mapping[str, Any], *, logical_date: datetime | None = None) -> dict[str, Any]:
        """Create a DAG run with `conf` and a logical date (default: now); return the API's run record."""
        when = logical_date or datetime.now(UTC)
        body = {"logical_date": when.isoformat(), "conf": dict(conf)}
        response = self._request("POST", f"/api/v2/dags/{_quoted(dag_id)}/dagRuns", json=body)
        return _as_dict(self._json(response, f"trigger DAG {dag_id!r}"))

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """Return one DAG run."""
        response = self._request("GET", f"/api/v2/dags/{_quoted(dag_id)}/dagRuns/{_quoted(run_id)}")
        return _as_dict(self._json(response, f"read run {run_id!r} of DAG {dag_id!r}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskState]:
        """Return the task instances of one DAG run, in the order the API lists them."""
        path = f"/api/v2/dags/{_quoted(dag_id)}/dagRuns/{_quoted(run_id)}/taskInstances"
        response = self._request("GET", path, params={"limit": 1000})
        body = _as_dict(self._json(response, f"list the tasks of run {run_id!r}"))
        tasks = []
        for item in body.get("task_instances") or []:
            duration = item.get("duration")
            tasks.append(
                TaskState(
                    task_id=str(item.get("task_id")),
                    state=item.get("state"),
                    try_number=int(item.get("try_number") or 0),
                    map_index=int(item.get("map_index", -1)),
                    duration_s=float(duration) if duration is not None else None,
                )
            )
        return tasks

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._token is None:
            self.login()
        response = self._send(method, path, headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        if response.status_code == 401:  # the token expired during a long wait: log in again, once
            self.login()
            response = self._send(method, path, headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        if response.status_code == 403:
            raise AirflowApiError(
                f"Airflow at {self.url} does not let user {self._username!r} {method} {path} (HTTP 403): "
                "use a user with the admin or op role"
            )
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise AirflowUnreachableError(
                f"Airflow at {self.url} did not answer {method} {path} in time ({error})"
            ) from error
        except httpx.HTTPError as error:
            raise AirflowUnreachableError(
                f"cannot reach Airflow at {self.url} ({_first_line(error)}): start it with `traider airflow up` "
                "or point --url / TRAIDER_AIRFLOW_URL at the api-server"
            ) from error

    def _json(self, response: httpx.Response, action: str) -> Any:
        if response.status_code >= 400:
            raise AirflowApiError(
                f"Airflow at {self.url} refused to {action} (HTTP {response.status_code}): {_detail(response)}"
            )
        try:
            return response.json()
        except ValueError as error:
            raise AirflowApiError(f"Airflow at {self.url} answered {action} with something that is not JSON") from error


def trigger_dag_run(
    client: AirflowClient,
    dag_id: str,
    conf: Mapping[str, Any] | None = None,
    *,
    wait: bool = True,
    timeout_s: float = 3600.0,
    poll_s: float = 2.0,
    report: Callable[[str], None] | None = None,
) -> RunResult:
    """Unpause the DAG if needed, trigger a run with `conf` and, with `wait`, poll it until it finishes.

    `report` is called with a line for each step: the unpausing, the new run, each new state of the run.
    Connection failures while polling are retried until the time is up (an api-server restart does not fail
    the wait).
    """
    say = report or (lambda _line: None)
    dag = client.get_dag(dag_id)
    unpaused = bool(dag.get("is_paused"))
    if unpaused:
        client.set_paused(dag_id, False)
        say(f"{dag_id} was paused: unpaused it")
    run = client.trigger(dag_id, conf or {})
    run_id = str(run["dag_run_id"])
    state = str(run.get("state"))
    say(f"triggered run {run_id}: {state}")
    if not wait:
        return RunResult(dag_id, run_id, state, False, unpaused=unpaused)
    deadline = time.monotonic() + timeout_s
    while state not in FINISHED and time.monotonic() < deadline:
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
        try:
            current = str(client.dag_run(dag_id, run_id).get("state"))
        except AirflowUnreachableError:
            if time.monotonic() >= deadline:
                raise
            continue
        if current != state:
            say(f"run {run_id}: {current}")
        state = current
    tasks = tuple(client.task_instances(dag_id, run_id))
    return RunResult(dag_id, run_id, state, state not in FINISHED, tasks, unpaused)


def _quoted(value: str) -> str:
    return quote(value, safe="")


def _as_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AirflowApiError(f"Airflow answered {type(value).__name__} where an object was expected")
    return value


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip().splitlines()[0][:300] if response.text.strip() else "no detail"
    detail = body.get("detail") if isinstance(body, dict) else body
    return " ".join(str(detail).split())[:300]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
