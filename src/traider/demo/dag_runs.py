"""Run a list of DAG runs with `dag.test()` in this process: `python -m traider.demo.dag_runs PLAN.json RESULTS.json`.

The demo starts it with the Airflow environment (metadata database, DAGs folder) and TRAIDER's settings in its
environment, so Airflow reads its configuration once for the whole sequence. Each plan entry is
{"dag_id", "logical_date", "conf", "label"}; each run prints one progress line and appends
{"label", "dag_id", "state", "seconds"} to the results file, so the parent can follow along and summarise.
A failed run does not stop the sequence unless the entry says `"required": true`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any


def main(plan_path: str, results_path: str) -> int:
    """Run every planned DAG run in order; return 1 when a required one failed, else 0."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    logging.getLogger("airflow").setLevel(logging.WARNING)
    plan: list[dict[str, Any]] = json.loads(Path(plan_path).read_text())
    bag = DagBag()
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}", file=sys.stderr, flush=True)
        return 3
    results: list[dict[str, Any]] = []
    for number, entry in enumerate(plan, start=1):
        dag = bag.get_dag(entry["dag_id"])
        if dag is None:
            print(f"no DAG {entry['dag_id']!r}", file=sys.stderr, flush=True)
            return 4
        started = time.monotonic()
        run = dag.test(logical_date=pendulum.parse(entry["logical_date"]), run_conf=entry.get("conf") or None)
        state = str(getattr(run.state, "value", run.state))
        seconds = time.monotonic() - started
        results.append({"label": entry["label"], "dag_id": entry["dag_id"], "state": state, "seconds": seconds})
        Path(results_path).write_text(json.dumps(results))
        mark = "ok" if state == "success" else state.upper()
        print(f"[{number}/{len(plan)}] {entry['label']}: {mark} ({seconds:.1f} s)", flush=True)
        if state != "success" and entry.get("required"):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
