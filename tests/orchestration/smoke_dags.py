"""Tiny DAGs for the platform tests, copied into a temporary DAGs folder (the product's dags/ stay out of it).

`traider_smoke` reads `message` from the run's conf in one task and, in a second, writes what it got to the
file named by the conf's `out`, with the process ids above it (so a test can tell which service ran it).
`traider_smoke_failing` fails.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2024, 1, 1, tz="UTC")


@dag(dag_id="traider_smoke", schedule=None, start_date=START, catchup=False, tags=["traider-test"])
def traider_smoke() -> None:
    @task
    def read_conf(**context: object) -> str:
        conf = context["dag_run"].conf  # type: ignore[attr-defined]
        return str(conf["message"])

    @task
    def record(message: str, **context: object) -> str:
        import json
        import os
        import socket
        from pathlib import Path

        ancestors, pid = [], os.getpid()
        while pid > 1:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rfind(")") + 2 :].split()[1])
            ancestors.append(pid)
        out = Path(context["dag_run"].conf["out"])  # type: ignore[attr-defined]
        payload = {"message": message, "pid": os.getpid(), "ancestors": ancestors, "hostname": socket.gethostname()}
        out.write_text(json.dumps(payload))
        return message

    record(read_conf())


@dag(dag_id="traider_smoke_failing", schedule=None, start_date=START, catchup=False, tags=["traider-test"])
def traider_smoke_failing() -> None:
    @task
    def fail() -> None:
        raise RuntimeError("this task fails on purpose")

    fail()


traider_smoke()
traider_smoke_failing()
