"""End to end on the real services: `traider airflow up`, then `traider airflow trigger ... --wait` (LocalExecutor)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import jwt
import pytest

from tests.mlflow_server import free_port
from tests.orchestration.platform import TRAIDER, AirflowTestPlatform, airflow_platform
from traider.db.url import parse_database_url
from traider.orchestration import services

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def platform(
    admin_url: str, smoke_dags_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowTestPlatform]:
    home = tmp_path_factory.mktemp("airflow-local") / "traider"
    with airflow_platform(
        parse_database_url(admin_url, setting="test server"), home, dags_folder=smoke_dags_folder
    ) as running:
        running.wait_for_dags("traider_smoke", "traider_smoke_failing")
        yield running


def test_up_starts_every_service_and_prints_the_generated_password_once(platform: AirflowTestPlatform) -> None:
    for component in services.CORE_COMPONENTS:
        assert platform.pid(component) is not None, component
    assert platform.password in platform.up_output
    assert len(platform.password) >= 20
    for secret in (services.passwords_file(platform.home), services.airflow_home(platform.home) / "jwt_secret"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    again = platform.traider("airflow", "up")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
    assert platform.password not in again.stdout + again.stderr
    status = platform.traider("airflow", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert platform.url in status.stdout
    assert "NOT running" not in status.stdout


def test_trigger_waits_for_the_run_and_the_task_sees_the_conf(platform: AirflowTestPlatform, tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    done = platform.trigger("traider_smoke", {"message": "hello from the test", "out": str(out)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "read_conf" in done.stdout and "record" in done.stdout and "success" in done.stdout
    seen = json.loads(out.read_text())
    assert seen["message"] == "hello from the test"
    assert platform.pid("scheduler") in seen["ancestors"]  # LocalExecutor: a worker process of the scheduler
    run_id = re.search(r"triggered run (\S+):", done.stdout).group(1)  # type: ignore[union-attr]
    task_logs = list((services.log_dir(platform.home) / "tasks").rglob("*.log"))
    assert any(f"run_id={run_id}" in str(path) for path in task_logs), task_logs  # under $TRAIDER_HOME/logs
    path = f"/api/v2/dags/traider_smoke/dagRuns/{quote(run_id, safe='')}/taskInstances/record/logs/1"
    log = platform.api("GET", path, token=platform.token())
    assert log.status_code == 200 and "hello from the test" in log.text, log.text[-2000:]


def test_trigger_exits_1_when_the_run_fails(platform: AirflowTestPlatform) -> None:
    done = platform.trigger("traider_smoke_failing")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "failed" in done.stdout


def test_trigger_gives_one_line_errors(platform: AirflowTestPlatform) -> None:
    unknown = platform.trigger("no_such_dag")
    assert unknown.returncode == 2
    assert "no DAG 'no_such_dag'" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1
    wrong = platform.traider(
        "airflow", "trigger", "traider_smoke", "--wait", extra_env={"TRAIDER_AIRFLOW_PASSWORD": "not-the-password"}
    )
    assert wrong.returncode == 2
    assert "refused the credentials" in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1
    bad_conf = platform.traider("airflow", "trigger", "traider_smoke", "--conf", "[1, 2]")
    assert bad_conf.returncode == 2 and "--conf" in bad_conf.stderr


def test_the_api_refuses_requests_without_valid_credentials(platform: AirflowTestPlatform) -> None:
    assert platform.api("GET", "/api/v2/dags").status_code == 401
    trigger = platform.api("POST", "/api/v2/dags/traider_smoke/dagRuns", json={"logical_date": None})
    assert trigger.status_code == 401
    for guess in ("admin", "airflow", ""):
        login = platform.api("POST", "/auth/token", json={"username": "admin", "password": guess})
        assert login.status_code in (400, 401), (guess, login.status_code)
    forged = jwt.encode({"sub": "admin", "role": "admin"}, "not-the-shared-secret-" * 4, algorithm="HS512")
    assert platform.api("GET", "/api/v2/dags", token=forged).status_code in (401, 403)  # refused either way
    assert platform.api("GET", "/api/v2/dags", token=platform.token()).status_code == 200
    assert platform.api("GET", "/api/v2/monitor/health").status_code == 200  # the health report needs no login


def test_trigger_reports_an_unreachable_server(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    environment = {**os.environ, "TRAIDER_HOME": str(tmp_path), "TRAIDER_AIRFLOW_PASSWORD": "x"}
    done = subprocess.run(
        [str(TRAIDER), "airflow", "trigger", "traider_smoke", "--url", url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"cannot reach Airflow at {url}" in done.stderr and len(done.stderr.strip().splitlines()) == 1
