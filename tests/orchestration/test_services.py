"""The platform's secrets and generated password, without starting it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from traider.orchestration import services

pytestmark = pytest.mark.timeout(60)
SERVER = make_url("postgresql+psycopg://traider:s3cret@db.example:5432/traider")


def _config(home: Path, **changes: object) -> services.AirflowPlatformConfig:
    settings: dict[str, object] = {
        "home": home,
        "metadata_url": services.metadata_url_for(SERVER, "airflow"),
        "dags_folder": home / "dags",
        "plugins_folder": home / "plugins",
        "port": 18080,
        **changes,
    }
    return services.AirflowPlatformConfig(**settings)  # type: ignore[arg-type]


def test_no_fixed_default_password_each_home_generates_its_own(tmp_path: Path) -> None:
    first = services.prepare(_config(tmp_path / "one"))
    second = services.prepare(_config(tmp_path / "two"))
    assert first.generated and second.generated
    assert first.password != second.password
    assert {first.password, second.password}.isdisjoint({"admin", "airflow", ""})
    for credentials in (first, second):
        assert stat.S_IMODE(credentials.passwords_file.stat().st_mode) == 0o600
        assert json.loads(credentials.passwords_file.read_text()) == {"admin": credentials.password}
    secrets = [(tmp_path / home / "airflow" / "jwt_secret").read_text() for home in ("one", "two")]
    assert secrets[0] != secrets[1]


def test_password_and_secrets_are_made_once_and_kept(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = services.prepare(config)
    environment = services.service_environment(config)
    again = services.prepare(config)
    assert not again.generated and again.password == first.password
    assert services.service_environment(config) == environment
    assert services.read_admin_password(tmp_path) == first.password
    for name in ("jwt_secret", "api_secret_key", "fernet_key", "simple_auth_manager_passwords.json"):
        assert stat.S_IMODE((tmp_path / "airflow" / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "airflow").stat().st_mode) == 0o700


def test_service_environment_shares_the_secret_and_keeps_the_password_out_of_the_url(tmp_path: Path) -> None:
    config = _config(tmp_path)
    services.prepare(config)
    environment = services.service_environment(config)
    jwt_secret = (tmp_path / "airflow" / "jwt_secret").read_text().strip()
    assert environment["AIRFLOW__API_AUTH__JWT_SECRET"] == jwt_secret
    assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://traider@db.example:5432/airflow"
    assert environment["PGPASSWORD"] == "s3cret"
    assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(config.passwords_file)
    assert environment["AIRFLOW__LOGGING__BASE_LOG_FOLDER"].startswith(str(tmp_path / "logs"))
    assert "s3cret" not in json.dumps({k: v for k, v in environment.items() if k != "PGPASSWORD"})


def test_celery_needs_a_broker(tmp_path: Path) -> None:
    config = _config(tmp_path, executor="CeleryExecutor")
    services.prepare(config)
    assert config.components[-1] == services.CELERY_WORKER
    with pytest.raises(services.AirflowPlatformError, match="broker"):
        services.service_environment(config)
    celery = _config(tmp_path, executor="CeleryExecutor", broker_url="redis://127.0.0.1:6379/5")
    assert services.service_environment(celery)["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/5"


def test_status_of_a_home_never_started(tmp_path: Path) -> None:
    report = services.status(tmp_path)
    assert report.url is None and not report.running
    assert services.stop(tmp_path) == []
