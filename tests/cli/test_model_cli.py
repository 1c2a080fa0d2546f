"""`traider model` and `traider mlflow` as a user runs them: real processes, the session's MLflow server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from tests.mlflow_server import MlflowTestServer
from tests.registry.support import Registry
from traider.db.url import libpq_dsn
from traider.registry.aliases import apply_gate
from traider.registry.evaluation import RunMetricEvaluator


@pytest.fixture
def registry(mlflow_server: MlflowTestServer, app_engine: Engine, admin_engine: Engine) -> Registry:
    """The session's registry, written through the least-privilege application role."""
    return Registry(mlflow_server.client(), app_engine, admin_engine, mlflow_server)


def traider(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("TRAIDER_", "MLFLOW_"))}
    environment.update({"COLUMNS": "250", **env})
    return subprocess.run(
        [sys.executable, "-m", "traider", *arguments],
        env=environment, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def _registry_env(server: MlflowTestServer, database_url: URL) -> dict[str, str]:
    return {**server.environment, "TRAIDER_DATABASE_URL": libpq_dsn(database_url)}


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    assert result.returncode == code, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("traider: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def _gate(registry: Registry, name: str, version: str) -> None:
    apply_gate(registry.client, registry.engine, name, version, RunMetricEvaluator(registry.client))


def test_model_status_shows_aliases_previous_champion_waiting_versions_and_decisions(
    registry: Registry, database_url: URL
) -> None:
    name = registry.new_model("status")
    versions = [registry.add_version(name, sharpe=sharpe) for sharpe in (1.7, 2.2, 1.9, 0.4)]
    for version in versions[:3]:
        _gate(registry, name, version)

    result = traider("model", "status", name, env=_registry_env(registry.server, database_url))

    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith(f"│ {name}"))
    assert [cell.strip() for cell in row.strip("│").split("│")] == [name, "v2", "v3", "v1", "4", "v4"]
    assert f"{name}: recent decisions" in result.stdout
    assert "gate v3: challenger (challenger, was —) by traider-gate — oos_sharpe 1.9 >= 1.5;" in result.stdout
    assert "gate v2: promote (production, was v1) by traider-gate" in result.stdout
    assert "gate v4" not in result.stdout  # waiting for the gate


def test_model_promote_and_rollback_record_the_actor_given(registry: Registry, database_url: URL) -> None:
    name = registry.new_model("cli")
    champion, challenger = registry.add_version(name, sharpe=2.4), registry.add_version(name, sharpe=1.8)
    _gate(registry, name, champion)
    _gate(registry, name, challenger)
    env = _registry_env(registry.server, database_url)

    promoted = traider("model", "promote", name, challenger, "--reason", "regime change", "--actor", "alice", env=env)
    rolled = traider("model", "rollback", name, "--reason", "live loss", "--actor", "bob", env=env)

    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.strip() == f"{name} v{challenger} is in production (was v{champion})."
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.strip() == f"{name} rolled back: v{champion} is in production again (was v{challenger})."
    actors = [(row.action, row.actor, row.reasons[0]) for row in registry.decisions(name)[-2:]]
    assert actors == [
        ("promote", "alice", "promoted by hand by alice: regime change"),
        ("rollback", "bob", "rolled back by bob: live loss"),
    ]


def test_model_rollback_without_history_is_one_line(registry: Registry, database_url: URL) -> None:
    name = registry.new_model("nohistory")
    _gate(registry, name, registry.add_version(name, sharpe=0.2))

    result = traider("model", "rollback", name, "--reason", "panic", env=_registry_env(registry.server, database_url))

    _one_line_error(result, 1, f"{name} has no version in production; there is nothing to roll back")


def test_model_promote_of_an_unknown_version_is_one_line(registry: Registry, database_url: URL) -> None:
    name = registry.new_model("unknown")
    result = traider("model", "promote", name, "9", "--reason", "x", env=_registry_env(registry.server, database_url))
    _one_line_error(result, 1, f"{name} has no version 9")


def test_model_status_with_the_server_down_is_one_line(database_url: URL, mlflow_server: MlflowTestServer) -> None:
    env = {**_registry_env(mlflow_server, database_url), "TRAIDER_MLFLOW_TRACKING_URI": "http://127.0.0.1:1"}
    result = traider("model", "status", env=env)
    _one_line_error(result, 2, "http://127.0.0.1:1 does not answer", "traider mlflow up")


def test_model_status_with_a_wrong_password_is_one_line_without_the_password(
    database_url: URL, mlflow_server: MlflowTestServer
) -> None:
    env = {**_registry_env(mlflow_server, database_url), "MLFLOW_TRACKING_PASSWORD": "not-the-password-1"}
    result = traider("model", "status", env=env)
    line = _one_line_error(result, 2, "refused the credentials (HTTP 401)")
    assert "not-the-password-1" not in line + result.stdout


def test_mlflow_up_and_status_find_the_running_server(mlflow_server: MlflowTestServer, admin_url: str) -> None:
    env = {
        "TRAIDER_HOME": str(mlflow_server.home),
        "TRAIDER_MLFLOW_PORT": str(mlflow_server.port),
        "TRAIDER_MLFLOW_DATABASE": mlflow_server.database,
        "TRAIDER_DATABASE_URL": admin_url,
        "MLFLOW_TRACKING_USERNAME": mlflow_server.username,
        "MLFLOW_TRACKING_PASSWORD": mlflow_server.password,
    }
    up = traider("mlflow", "up", env=env)
    status = traider("mlflow", "status", env=env)

    assert up.returncode == 0, up.stderr
    assert up.stdout.startswith(f"MLflow server already running at {mlflow_server.tracking_uri} (basic-auth on)")
    assert status.returncode == 0, status.stderr
    assert f"{mlflow_server.tracking_uri} (answers); local server: pid " in status.stdout
    assert mlflow_server.password not in up.stdout + up.stderr + status.stdout


def test_mlflow_up_without_an_admin_password_is_one_line(tmp_path: Path) -> None:
    result = traider("mlflow", "up", env={"TRAIDER_HOME": str(tmp_path)})
    _one_line_error(result, 2, "MLFLOW_TRACKING_PASSWORD is not set")


@pytest.mark.parametrize("command", ["down", "status"])
def test_mlflow_down_and_status_without_a_server(tmp_path: Path, command: str) -> None:
    result = traider("mlflow", command, env={"TRAIDER_HOME": str(tmp_path), "TRAIDER_MLFLOW_PORT": "1"})
    if command == "down":
        assert (result.returncode, result.stdout.strip()) == (0, "MLflow server was not running.")
    else:
        assert result.returncode == 1
        assert (
            "http://127.0.0.1:1 (does not answer); local server: not started from this $TRAIDER_HOME." in result.stdout
        )
