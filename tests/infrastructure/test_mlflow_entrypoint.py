"""infrastructure/docker/mlflow_entrypoint.py: the foreground MLflow server of the containers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from tests.infrastructure.conftest import INFRA
from traider.registry.server import MlflowServerConfig

PASSWORD = "correct-horse-battery-staple"  # a test value


@pytest.fixture(scope="module")
def entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mlflow_entrypoint", INFRA / "docker" / "mlflow_entrypoint.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config(tmp_path: Path, *, auth: bool = True) -> MlflowServerConfig:
    return MlflowServerConfig(
        database_url=make_url(f"postgresql+psycopg://traider:{PASSWORD}@timescaledb:5432/traider"),
        database="mlflow",
        home=tmp_path,
        port=5000,
        workers=2,
        auth=auth,
        admin_password=SecretStr(PASSWORD),
    )


def test_the_server_listens_on_every_interface_with_basic_auth(entrypoint: ModuleType, tmp_path: Path) -> None:
    command = entrypoint.build_command(config(tmp_path), host="0.0.0.0")
    assert command[:4] == [sys.executable, "-m", "mlflow", "server"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "5000"
    assert command[command.index("--artifacts-destination") + 1] == str(tmp_path / "mlflow" / "artifacts")
    assert command[-2:] == ["--app-name", "basic-auth"]
    assert not any(PASSWORD in part for part in command)
    assert "--app-name" not in entrypoint.build_command(config(tmp_path, auth=False), host="0.0.0.0")


def test_secrets_reach_the_server_by_environment_only(entrypoint: ModuleType, tmp_path: Path) -> None:
    environ = {
        "MLFLOW_SERVER_ALLOWED_HOSTS": "traider-mlflow,traider-mlflow:5000",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "flask-key",
        "MLFLOW_TRACKING_PASSWORD": PASSWORD,
    }
    environment = entrypoint.build_environment(config(tmp_path), environ)
    assert environment["MLFLOW_SERVER_ALLOWED_HOSTS"] == "traider-mlflow,traider-mlflow:5000"
    assert environment["MLFLOW_FLASK_SERVER_SECRET_KEY"] == "flask-key"
    assert environment["MLFLOW_AUTH_ADMIN_PASSWORD"] == PASSWORD
    assert environment["PGPASSWORD"] == PASSWORD
    assert PASSWORD not in environment["MLFLOW_BACKEND_STORE_URI"]
    assert "MLFLOW_TRACKING_PASSWORD" not in environment


def test_it_stops_with_one_line_when_the_database_url_is_missing(
    entrypoint: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRAIDER_DATABASE_URL", raising=False)
    assert entrypoint.main(["--db-wait", "0"]) == 2
    assert "TRAIDER_DATABASE_URL is not set" in capsys.readouterr().err


def test_it_stops_with_one_line_when_the_admin_password_is_missing(
    entrypoint: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRAIDER_DATABASE_URL", "postgresql+psycopg://traider@127.0.0.1:1/traider")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    monkeypatch.delenv("TRAIDER_MLFLOW_AUTH", raising=False)
    assert entrypoint.main(["--db-wait", "0"]) == 2
    assert "MLFLOW_TRACKING_PASSWORD is not set" in capsys.readouterr().err
