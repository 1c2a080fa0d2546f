"""A real gate DAG run: every waiting version of the chosen model is gated, others are left alone."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.dags.airflow_env import AirflowEnvironment
from tests.mlflow_server import MlflowTestServer
from tests.registry.support import Registry


def test_gate_dag_gates_the_waiting_versions_of_the_chosen_model(
    airflow_env: AirflowEnvironment, mlflow_server: MlflowTestServer, app_engine: Engine, admin_engine: Engine
) -> None:
    registry = Registry(mlflow_server.client(), app_engine, admin_engine, mlflow_server)
    name = registry.new_model("dag")
    good, bad = registry.add_version(name, sharpe=1.9), registry.add_version(name, sharpe=0.3)
    other = registry.new_model("dag_other")
    untouched = registry.add_version(other, sharpe=2.0)

    run = airflow_env.run_dag(
        "gate", "2026-11-24T00:00:00+00:00", extra_env=mlflow_server.environment, conf={"models": [name]}
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert registry.aliases(name) == {"production": good}
    assert registry.tags(name, bad)["gate.decision"] == "reject"
    # the mapped gate tasks may finish in either order: compare the decisions by version
    assert sorted((row.version, row.decision, row.actor) for row in registry.decisions(name)) == [
        (int(good), "promote", "traider-gate"),
        (int(bad), "reject", "traider-gate"),
    ]
    assert "gate.decision" not in registry.tags(other, untouched)
