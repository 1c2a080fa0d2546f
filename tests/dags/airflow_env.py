"""A real Airflow environment for DAG tests: its own metadata database on the test server.

DAG runs happen in a child process (`run_dag.py`) so that Airflow reads this configuration when it
starts, never an earlier import's; the tests then look at PostgreSQL for what the run did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from traider.db.url import libpq_dsn

REPO = Path(__file__).resolve().parents[2]
RUN_DAG = Path(__file__).with_name("run_dag.py")


@dataclass(frozen=True)
class AirflowEnvironment:
    """Environment variables that point Airflow and TRAIDER at the test databases."""

    variables: dict[str, str]

    def run_dag(self, dag_id: str, logical_date: str, *, extra_env: dict[str, str] | None = None,
                conf: dict[str, object] | None = None, timeout_s: int = 600) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run one DAG run with `dag.test()` in a child process and return the finished process."""
        environment = {**os.environ, **self.variables, **(extra_env or {})}
        return subprocess.run(
            [sys.executable, str(RUN_DAG), dag_id, logical_date, *([json.dumps(conf)] if conf else [])],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=REPO,
        )

    def airflow(self, *arguments: str, timeout_s: int = 600) -> subprocess.CompletedProcess[str]:
        """Run the `airflow` command line in this environment."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *arguments],
            env={**os.environ, **self.variables},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=REPO,
        )


@contextmanager
def airflow_environment(metadata_url: URL, traider_url: URL, home: Path) -> Iterator[AirflowEnvironment]:
    """Migrate an Airflow metadata database and yield the environment that uses it."""
    home.mkdir(parents=True, exist_ok=True)
    variables = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url.render_as_string(hide_password=False),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "TRAIDER_DATABASE_URL": libpq_dsn(traider_url),
        "TRAIDER_HOME": str(home / "traider"),
    }
    environment = AirflowEnvironment(variables)
    for command in (("db", "migrate"), ("dags", "reserialize")):
        done = environment.airflow(*command)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    yield environment
