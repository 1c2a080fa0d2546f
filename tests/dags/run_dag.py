"""Run one DAG with `dag.test()`; exit 0 only if the run succeeded: `run_dag.py DAG_ID LOGICAL_DATE [CONF_JSON]`."""

from __future__ import annotations

import json
import sys

import pendulum
from airflow.dag_processing.dagbag import DagBag


def main(dag_id: str, logical_date: str, conf: str | None = None) -> int:
    bag = DagBag()
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
        return 3
    dag = bag.get_dag(dag_id)
    if dag is None:
        print(f"no DAG {dag_id!r}; known: {sorted(bag.dag_ids)}", file=sys.stderr)
        return 4
    run = dag.test(logical_date=pendulum.parse(logical_date), run_conf=json.loads(conf) if conf else None)
    print(f"DAGRUN_STATE={run.state}")
    return 0 if str(run.state) in {"success", "DagRunState.SUCCESS"} else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
