"""docker-compose.yml: resolved by the real Compose binary (offline `config`) and checked for its structure."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.infrastructure.conftest import COMPOSE_FILE, INFRA, tool

REQUIRED_SECRETS = (
    "POSTGRES_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_FERNET_KEY",
    "REDIS_PASSWORD",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_FLASK_SERVER_SECRET_KEY",
    "TRAIDER_DASHBOARD_USERS",
)
SECRET_NAME = re.compile(
    r"PASSWORD|SECRET|TOKEN|FERNET|_KEY$|DATABASE_URL|SQL_ALCHEMY_CONN|BROKER_URL|RESULT_BACKEND|DASHBOARD_USERS"
)
REQUIRED_REFERENCE = re.compile(r"\$\{(\w+):\?[^}]+\}")
ONE_SHOT = {"traider-migrate", "airflow-init"}
PUBLISHED = {"airflow-api-server": 8080, "mlflow": 5000, "dashboard": 8501}
TRAIDER_SERVICES = {"worker", "dashboard", "mlflow", "traider-migrate"}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "test.env"
    path.write_text("".join(f"{name}={secrets.token_hex(16)}\n" for name in REQUIRED_SECRETS))
    return path


def compose(*arguments: str, env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [tool("docker-compose"), "--project-directory", str(INFRA), "-f", str(COMPOSE_FILE)]
    # an empty env file stands in for infrastructure/.env, so a developer's own .env never leaks into the test
    command += ["--env-file", str(env_file or "/dev/null"), *arguments]
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=environment)


@pytest.fixture(scope="module", params=[(), ("--profile", "celery")], ids=["default", "celery"])
def resolved(request: pytest.FixtureRequest, env_file: Path) -> dict[str, Any]:
    done = compose(*request.param, "config", "--format", "json", env_file=env_file)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_resolves_the_file_with_every_secret_set(resolved: dict[str, Any]) -> None:
    services = set(resolved["services"])
    assert {
        "timescaledb",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    } <= services
    assert {"airflow-init", "traider-migrate", "mlflow", "worker", "dashboard"} <= services


def test_the_celery_profile_adds_redis_and_a_celery_worker(env_file: Path) -> None:
    plain = compose("config", "--services", env_file=env_file)
    celery = compose("--profile", "celery", "config", "--services", env_file=env_file)
    assert plain.returncode == celery.returncode == 0, plain.stderr + celery.stderr
    assert set(celery.stdout.split()) - set(plain.stdout.split()) == {"redis", "airflow-worker"}


@pytest.mark.parametrize("env_file_text", ["", None], ids=["no-env", "env-example"])
def test_compose_refuses_to_start_without_the_secrets(env_file_text: str | None, tmp_path: Path) -> None:
    # .env.example as shipped must not start anything either: its secrets are empty
    path = INFRA / ".env.example" if env_file_text is None else tmp_path / "empty.env"
    if env_file_text is not None:
        path.write_text(env_file_text)
    done = compose("config", "--quiet", env_file=path)
    assert done.returncode != 0
    for name in REQUIRED_SECRETS:
        assert f"required variable {name} is missing a value" in done.stderr, name


def test_env_example_lists_every_required_variable_without_a_value() -> None:
    lines = dict(
        line.split("=", 1) for line in (INFRA / ".env.example").read_text().splitlines() if re.match(r"^[A-Z_]+=", line)
    )
    text = "\n".join(line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#"))
    referenced = set(REQUIRED_REFERENCE.findall(text))
    assert referenced == set(REQUIRED_SECRETS)
    for name in referenced:
        assert lines.get(name) == "", f"{name} must be listed in .env.example with an empty value"
    assert ".env" in (INFRA / ".gitignore").read_text().split()


def test_every_service_has_an_image_and_the_database_is_timescaledb(raw: dict[str, Any]) -> None:
    for name, service in raw["services"].items():
        assert service.get("image"), name
    timescale = raw["services"]["timescaledb"]["image"]
    assert re.fullmatch(r"timescale/timescaledb:2\.\d+\.\d+-pg16", timescale)
    for name in TRAIDER_SERVICES:
        service = raw["services"][name]
        assert service["build"]["dockerfile"] == "infrastructure/docker/Dockerfile", name
        assert service["cap_drop"] == ["ALL"], name


def test_every_long_running_service_has_a_healthcheck(raw: dict[str, Any]) -> None:
    for name, service in raw["services"].items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name
    assert "8081/health" in " ".join(raw["services"]["worker"]["healthcheck"]["test"])
    assert "/_stcore/health" in " ".join(raw["services"]["dashboard"]["healthcheck"]["test"])
    assert "5000/health" in " ".join(raw["services"]["mlflow"]["healthcheck"]["test"])


def environment_items(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_no_plaintext_secret_only_required_references(raw: dict[str, Any]) -> None:
    for name, service in raw["services"].items():
        for variable, value in environment_items(service).items():
            if not SECRET_NAME.search(variable):
                continue
            if variable.endswith("_FILE"):
                continue  # a path, not a secret
            # what the value is once every required reference is taken as REQUIRED and every default as written
            expanded = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", REQUIRED_REFERENCE.sub("REQUIRED", value))
            if "://" in expanded:
                # a URL may hold user, host and database names, but its password is a required reference
                assert urlsplit(expanded).password == "REQUIRED", f"{name}: {variable} has a literal password"
            else:
                assert expanded == "REQUIRED", f"{name}: {variable} must be a ${{VAR:?message}} reference"
    text = COMPOSE_FILE.read_text()
    assert not re.search(r"\$\{\w*(PASSWORD|SECRET|KEY)\w*:-", text), "a secret has a default value"


def test_depends_on_conditions_form_an_acyclic_graph(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    graph: dict[str, set[str]] = {}
    for name, service in services.items():
        graph[name] = set()
        for dependency, spec in service.get("depends_on", {}).items():
            condition = spec["condition"]
            if dependency in ONE_SHOT:
                assert condition == "service_completed_successfully", (name, dependency)
            else:
                assert condition == "service_healthy", (name, dependency)
            if dependency in services:
                graph[name].add(dependency)
            else:
                assert spec.get("required") is False, f"{name} needs {dependency}, which is not in this profile"
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:  # pragma: no cover - the message names the cycle
        pytest.fail(f"depends_on has a cycle: {error.args[1]}")
    assert order.index("timescaledb") < order.index("traider-migrate") < order.index("worker")
    assert order.index("airflow-init") < order.index("airflow-scheduler")
    assert order.index("mlflow") < order.index("worker")


def test_only_the_user_interfaces_publish_ports_on_loopback(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        ports = service.get("ports", [])
        if name not in PUBLISHED:
            assert not ports, f"{name} publishes a port"
            continue
        assert len(ports) == 1, name
        assert ports[0]["target"] == PUBLISHED[name], name
        assert ports[0]["host_ip"] == "127.0.0.1", name


def test_airflow_components_share_one_jwt_secret_and_the_metadata_database(resolved: dict[str, Any]) -> None:
    airflow = {name: service for name, service in resolved["services"].items() if name.startswith("airflow-")}
    assert len(airflow) >= 5
    secrets_seen = {service["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for service in airflow.values()}
    assert len(secrets_seen) == 1
    for service in airflow.values():
        environment = service["environment"]
        assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@timescaledb:5432/airflow")
        assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-api-server:8080/execution/"
    api = airflow["airflow-api-server"]["environment"]
    assert api["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/auth/")
    assert api["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"


def test_every_traider_service_gets_the_database_url(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        if name in {"timescaledb", "redis"}:
            continue
        url = service["environment"]["TRAIDER_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://traider:") and url.endswith("@timescaledb:5432/traider"), name
