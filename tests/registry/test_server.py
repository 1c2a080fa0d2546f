"""The MLflow tracking server as `traider mlflow up` runs it: PostgreSQL backend, local artifacts, basic-auth."""

from __future__ import annotations

import base64
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from tests.mlflow_server import MlflowTestServer
from traider.db.url import libpq_dsn, parse_database_url
from traider.registry import server
from traider.registry.errors import MlflowServerError

API = "/api/2.0/mlflow/registered-models/search?max_results=1"


def _status(url: str, credentials: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(credentials).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_server_answers_health_but_every_ui_and_api_call_needs_the_admin_credentials(
    mlflow_server: MlflowTestServer,
) -> None:
    uri = mlflow_server.tracking_uri
    assert _status(f"{uri}/health") == 200
    assert _status(f"{uri}{API}") == 401
    assert _status(f"{uri}/") == 401
    assert _status(f"{uri}{API}", ("admin", "password1234")) == 401
    assert _status(f"{uri}{API}", (mlflow_server.username, mlflow_server.password)) == 200


def test_server_keeps_runs_in_its_postgres_database_and_artifacts_under_traider_home(
    mlflow_server: MlflowTestServer, admin_url: str
) -> None:
    client = mlflow_server.client()
    experiment = client.get_experiment_by_name("traider-server-tests") or client.get_experiment(
        client.create_experiment("traider-server-tests")
    )
    run = client.create_run(experiment.experiment_id)
    with tempfile.TemporaryDirectory() as directory:
        note = Path(directory) / "note.txt"
        note.write_text("artifact through the proxy")
        client.log_artifact(run.info.run_id, str(note))
    stored = list((mlflow_server.home / "mlflow" / "artifacts").rglob("note.txt"))
    assert [path.read_text() for path in stored] == ["artifact through the proxy"]
    backend = parse_database_url(admin_url).set(database=mlflow_server.database)
    with psycopg.connect(libpq_dsn(backend)) as connection:
        found = connection.execute("SELECT count(*) FROM runs WHERE run_uuid = %s", (run.info.run_id,)).fetchone()
    assert found == (1,)


def test_server_secrets_are_not_on_its_command_line_in_its_files_or_its_log(mlflow_server: MlflowTestServer) -> None:
    pid = server.running_pid(mlflow_server.home)
    assert pid is not None
    command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    files = [mlflow_server.home / "mlflow" / "basic_auth.ini", mlflow_server.home / "logs" / "mlflow.log"]
    for text in [command_line, *(path.read_text() for path in files)]:
        assert mlflow_server.password not in text
    ini = files[0]
    assert ini.stat().st_mode & 0o777 == 0o600
    assert "NO_PERMISSIONS" in ini.read_text()


def test_start_again_reuses_the_running_server(mlflow_server: MlflowTestServer, admin_url: str) -> None:
    config = _config(mlflow_server, admin_url, mlflow_server.home, mlflow_server.port)
    assert server.start(config) is False
    assert server.running_pid(mlflow_server.home) is not None


def test_start_refuses_a_port_another_server_answers_on(
    mlflow_server: MlflowTestServer, admin_url: str, tmp_path: Path
) -> None:
    config = _config(mlflow_server, admin_url, tmp_path, mlflow_server.port)
    with pytest.raises(MlflowServerError, match=f"something else already answers on port {mlflow_server.port}"):
        server.start(config)


@pytest.mark.parametrize(("password", "problem"), [(None, "is not set"), ("short", "is shorter than 12 characters")])
def test_start_with_auth_needs_a_long_enough_admin_password(tmp_path: Path, password: str | None, problem: str) -> None:
    config = server.MlflowServerConfig(
        database_url=make_url("postgresql+psycopg://nobody@127.0.0.1:1/none"),
        database="mlflow",
        home=tmp_path,
        port=1,
        admin_password=SecretStr(password) if password else None,
    )
    with pytest.raises(MlflowServerError, match=f"MLFLOW_TRACKING_PASSWORD {problem}") as raised:
        server.start(config)
    assert len(str(raised.value).splitlines()) == 1


def test_stop_without_a_running_server_says_so(tmp_path: Path) -> None:
    assert server.stop(tmp_path) is False
    assert server.running_pid(tmp_path) is None


def _config(running: MlflowTestServer, admin_url: str, home: Path, port: int) -> server.MlflowServerConfig:
    return server.MlflowServerConfig(
        database_url=parse_database_url(admin_url, setting="test server"),
        database=running.database,
        home=home,
        port=port,
        workers=1,
        admin_password=SecretStr(running.password),
    )


def test_server_gets_database_urls_without_password_and_the_password_through_pgpassword(tmp_path: Path) -> None:
    config = server.MlflowServerConfig(
        database_url=make_url("postgresql+psycopg://trader:hunter2@db.internal:5432/traider"),
        database="mlflow",
        home=tmp_path,
        port=5000,
        admin_password=SecretStr("a-long-admin-password"),
    )
    environment = server.server_environment(config)
    server.write_auth_config(config)
    ini = config.auth_config_file.read_text()

    assert environment["MLFLOW_BACKEND_STORE_URI"] == "postgresql+psycopg://trader@db.internal:5432/mlflow"
    assert environment["PGPASSWORD"] == "hunter2"
    assert environment["MLFLOW_AUTH_ADMIN_PASSWORD"] == "a-long-admin-password"
    assert not any(key.startswith("TRAIDER_") for key in environment)
    assert "database_uri = postgresql+psycopg://trader@db.internal:5432/mlflow_auth" in ini
    assert "hunter2" not in ini + repr(config) and "a-long-admin-password" not in ini + repr(config)


def test_auth_file_for_a_unix_socket_server_reads_back_as_mlflow_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.server.auth.config import read_auth_config

    config = server.MlflowServerConfig(
        database_url=make_url("postgresql://postgres:@/traider?host=/srv/traider/pg"),
        database="mlflow",
        home=tmp_path,
        port=5000,
    )
    server.write_auth_config(config)
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(config.auth_config_file))

    read = read_auth_config()

    assert read.database_uri == "postgresql+psycopg://postgres@/mlflow_auth?host=%2Fsrv%2Ftraider%2Fpg"
    assert read.default_permission == "NO_PERMISSIONS"
