"""The real Airflow platform for tests: `traider airflow up` in a temporary $TRAIDER_HOME, `down` at the end.

`airflow_platform(traider_url, home, dags_folder=...)` starts the api-server, scheduler, dag-processor and
triggerer (plus a Celery worker with `executor="celery"`) exactly as a developer does, through the command
line, on a free loopback port, with a fresh metadata database on the server of `traider_url` (dropped at
the end). TRAIDER_DATABASE_URL is `traider_url` for the services and so for the tasks: pass the session's
migrated database (`database_url`) for DAGs that use TRAIDER's tables, and `extra_env` for anything else
they need (MLflow credentials, say). `dags_folder` defaults to the product's dags/.

    with airflow_platform(database_url, tmp_path / "home", extra_env=mlflow_server.environment) as platform:
        done = platform.trigger("live_replay", {"day": "2024-01-02"}, timeout_s=600)
        assert done.returncode == 0, done.stdout + done.stderr
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import URL

from tests.mlflow_server import free_port
from traider.db.url import libpq_dsn
from traider.orchestration import services
from traider.processes import process_alive

REPO = Path(__file__).resolve().parents[2]
TRAIDER = Path(sys.executable).with_name("traider")
CLIENT_VARIABLES = ("TRAIDER_AIRFLOW_URL", "TRAIDER_AIRFLOW_USERNAME", "TRAIDER_AIRFLOW_PASSWORD")


@dataclass(frozen=True)
class AirflowTestPlatform:
    """A running platform: its URL, admin credentials, $TRAIDER_HOME and the environment of its commands."""

    url: str
    username: str
    password: str
    home: Path
    metadata_database: str
    up_output: str
    environment: Mapping[str, str] = field(repr=False)

    def traider(
        self, *arguments: str, timeout_s: float = 300, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the `traider` command line against this platform (same $TRAIDER_HOME) and return it finished."""
        return subprocess.run(
            [str(TRAIDER), *arguments],
            env={**self.environment, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=REPO,
        )

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, *, timeout_s: float = 180, wait: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `traider airflow trigger DAG_ID --conf ... --wait` as a subprocess and return it finished."""
        arguments = ["airflow", "trigger", dag_id, "--conf", json.dumps(dict(conf or {})), "--poll", "0.5"]
        arguments += ["--wait", "--timeout", str(timeout_s)] if wait else ["--no-wait"]
        return self.traider(*arguments, timeout_s=timeout_s + 60)

    def pid(self, component: str) -> int | None:
        """Return the pid of a running service (`api-server`, `scheduler`, …, `celery-worker`)."""
        return services.running_pid(self.home, component)

    def token(self) -> str:
        """Return a JWT of the admin user."""
        response = httpx.post(
            f"{self.url}/auth/token", json={"username": self.username, "password": self.password}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """Call the REST API (`path` from the root, e.g. /api/v2/dags), with a token or without one."""
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def wait_for_dags(self, *dag_ids: str, timeout_s: float = 90) -> None:
        """Wait until the dag-processor has parsed and stored every DAG of `dag_ids`."""
        token = self.token()
        deadline = time.monotonic() + timeout_s
        missing = list(dag_ids)
        while missing and time.monotonic() < deadline:
            missing = [dag for dag in missing if self.api("GET", f"/api/v2/dags/{dag}", token=token).status_code != 200]
            if missing:
                time.sleep(0.5)
        if missing:
            errors = self.api("GET", "/api/v2/importErrors", token=token).text
            raise AssertionError(f"DAGs {missing} not parsed within {timeout_s} s; import errors: {errors[:2000]}")


@contextmanager
def airflow_platform(
    traider_url: URL,
    home: Path,
    *,
    dags_folder: Path = REPO / "dags",
    executor: str = "local",
    broker_url: str | None = None,
    parallelism: int = 2,
    extra_env: Mapping[str, str] | None = None,
    timeout_s: float = 180,
) -> Iterator[AirflowTestPlatform]:
    """Start the platform with `traider airflow up`, yield it, then `traider airflow down` and drop its database.

    On the way out it checks that no process it started is left: one that is gets killed, and the exit
    fails the test.
    """
    database = f"traider_test_airflow_{uuid.uuid4().hex[:12]}"
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if key not in CLIENT_VARIABLES}
    environment.update(
        {
            "TRAIDER_HOME": str(home),
            "TRAIDER_DATABASE_URL": libpq_dsn(traider_url),
            "TRAIDER_AIRFLOW_DATABASE": database,
            "TRAIDER_AIRFLOW_PORT": str(port),
            "TRAIDER_AIRFLOW_EXECUTOR": executor,
            "TRAIDER_AIRFLOW_PARALLELISM": str(parallelism),
            **({"TRAIDER_AIRFLOW_BROKER_URL": broker_url} if broker_url else {}),
            **(extra_env or {}),
        }
    )
    home.mkdir(parents=True, exist_ok=True)
    command = [str(TRAIDER), "airflow", "up", "--dags-folder", str(dags_folder), "--timeout", str(timeout_s)]
    try:
        up = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=timeout_s + 120, check=False, cwd=REPO
        )
        if up.returncode != 0:
            raise AssertionError(
                f"traider airflow up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}\n{_logs(home)}"
            )
        password = services.read_admin_password(home)
        assert password, f"no admin password in {services.passwords_file(home)}"
        yield AirflowTestPlatform(
            url=f"http://{services.HOST}:{port}",
            username="admin",
            password=password,
            home=home,
            metadata_database=database,
            up_output=up.stdout,
            environment=environment,
        )
    finally:
        _down(home, environment)
        with suppress(psycopg.Error), psycopg.connect(libpq_dsn(traider_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _down(home: Path, environment: Mapping[str, str]) -> None:
    """Stop the platform with `traider airflow down`; kill and report anything it left running."""
    run_dir = services.airflow_home(home) / "run"
    recorded = {path.stem: services.running_pid(home, path.stem) for path in run_dir.glob("*.pid")}
    started = {name: pid for name, pid in recorded.items() if pid is not None}
    family = {pid: [pid, *services.descendants(pid)] for pid in started.values()}
    try:
        subprocess.run(
            [str(TRAIDER), "airflow", "down"], env=dict(environment), capture_output=True, timeout=120, check=False
        )
    finally:
        services.stop(home)
    deadline = time.monotonic() + 10
    left = [pid for pids in family.values() for pid in pids if process_alive(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [pid for pid in left if process_alive(pid)]
    for pid in left:
        with suppress(ProcessLookupError):
            os.kill(pid, 9)
    assert not left, f"processes left running after `traider airflow down`: {left}"


def _logs(home: Path) -> str:
    """Return the last lines of every service log, for a failure message."""
    parts = []
    for log in sorted(services.log_dir(home).glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-15:]
        parts.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(parts)
