"""The same tiny DAG on Airflow's CeleryExecutor: Redis (database 5) as broker, a real `airflow celery worker`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.orchestration.platform import AirflowTestPlatform, airflow_platform
from traider.db.url import parse_database_url

pytest.importorskip("airflow.providers.celery", reason="needs apache-airflow-providers-celery")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

BROKER = "redis://127.0.0.1:6379/5"


@pytest.fixture(scope="module")
def celery_platform(
    admin_url: str, smoke_dags_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowTestPlatform]:
    import redis

    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    home = tmp_path_factory.mktemp("airflow-celery") / "traider"
    server = parse_database_url(admin_url, setting="test server")
    try:
        with airflow_platform(
            server, home, dags_folder=smoke_dags_folder, executor="celery", broker_url=BROKER
        ) as running:
            running.wait_for_dags("traider_smoke")
            yield running
    finally:
        broker.flushdb()
        broker.close()


def test_a_dag_runs_on_the_celery_worker(celery_platform: AirflowTestPlatform, tmp_path: Path) -> None:
    worker, scheduler = celery_platform.pid("celery-worker"), celery_platform.pid("scheduler")
    assert worker is not None and scheduler is not None
    out = tmp_path / "seen.json"
    done = celery_platform.trigger("traider_smoke", {"message": "via celery", "out": str(out)})
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(out.read_text())
    assert seen["message"] == "via celery"
    assert worker in seen["ancestors"]  # the task process descends from the Celery worker…
    assert scheduler not in seen["ancestors"]  # …not from the scheduler, as it would with the LocalExecutor
    run_id = re.search(r"triggered run (\S+):", done.stdout).group(1)  # type: ignore[union-attr]
    path = f"/api/v2/dags/traider_smoke/dagRuns/{quote(run_id, safe='')}/taskInstances/record/logs/1"
    log = celery_platform.api("GET", path, token=celery_platform.token())  # the worker's log, read from disk
    assert log.status_code == 200 and "via celery" in log.text, log.text[-2000:]
    status = celery_platform.traider("airflow", "status")
    assert status.returncode == 0 and "celery-worker" in status.stdout, status.stdout
