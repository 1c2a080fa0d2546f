"""Every DAG imports cleanly and follows the house rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.dags.airflow_env import AirflowEnvironment

DAGS = Path(__file__).resolve().parents[2] / "dags"

CHECK = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag()
print(json.dumps({
    "errors": {k: str(v)[:500] for k, v in bag.import_errors.items()},
    "dags": {dag_id: {
        "tags": sorted(dag.tags), "doc": bool(dag.doc_md), "schedule": str(dag.schedule),
        "owners": sorted({t.owner for t in dag.tasks}), "retries": sorted({t.retries for t in dag.tasks}),
        "task_docs": all(bool(t.doc_md or getattr(t, "python_callable", None).__doc__) for t in dag.tasks),
    } for dag_id, dag in bag.dags.items()},
}))
"""


def _dagbag(environment: AirflowEnvironment) -> dict[str, dict[str, object]]:
    import json
    import os

    result = subprocess.run(
        [sys.executable, "-c", CHECK], env={**os.environ, **environment.variables}, capture_output=True,
        text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    parsed: dict[str, dict[str, object]] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def test_dags_import_without_errors_and_follow_policy(airflow_env: AirflowEnvironment) -> None:
    bag = _dagbag(airflow_env)
    assert bag["errors"] == {}
    expected = {path.stem for path in DAGS.glob("*.py")}
    assert set(bag["dags"]) == expected
    for dag_id, info in bag["dags"].items():
        assert info["tags"], dag_id
        assert info["doc"], f"{dag_id} needs doc_md=__doc__"
        assert info["owners"] == ["traider-data"], dag_id
        assert info["task_docs"], f"every task of {dag_id} needs a docstring"
        assert info["schedule"] not in ("None", ""), f"{dag_id} needs an explicit schedule"


def test_dag_files_only_wire() -> None:
    """No heavy import at module level in a DAG file (ruff's TID253 enforces the same list)."""
    heavy = ("pandas", "numpy", "sqlalchemy", "psycopg", "ccxt", "great_expectations", "mlflow", "torch")
    for path in DAGS.glob("*.py"):
        top_level = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
        for line in top_level:
            assert not any(line.split()[1].split(".")[0] == name for name in heavy), f"{path.name}: {line}"
