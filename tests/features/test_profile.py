"""The dbt connection comes from TRAIDER's settings, as environment variables for the dbt process."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from traider.config import Settings
from traider.db.url import parse_database_url
from traider.errors import ConfigurationError
from traider.features.profile import PASSWORD_VARIABLE, dbt_environment

PROFILE = Path(__file__).resolve().parents[2] / "dbt" / "profiles.yml"


def test_tcp_url_gives_host_port_user_password_and_database() -> None:
    url = parse_database_url("postgresql+psycopg://trader:s3cret@db.internal:6543/traider?sslmode=require")
    environment = dbt_environment(url, Settings(database_app_role="worker", database_connect_timeout_s=7))
    assert environment == {
        "DBT_TRAIDER_HOST": "db.internal",
        "DBT_TRAIDER_PORT": "6543",
        "DBT_TRAIDER_USER": "trader",
        PASSWORD_VARIABLE: "s3cret",
        "DBT_TRAIDER_DBNAME": "traider",
        "DBT_TRAIDER_SSLMODE": "require",
        "DBT_TRAIDER_THREADS": "4",
        "DBT_TRAIDER_CONNECT_TIMEOUT": "7",
        "DBT_TRAIDER_APP_ROLE": "worker",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def test_embedded_server_socket_url_uses_the_socket_directory_and_the_login_role_as_reader() -> None:
    url = parse_database_url("postgresql://postgres:@/traider?host=/tmp/pg-socket", setting="embedded server URI")
    environment = dbt_environment(url, Settings(database_app_role=""))
    assert environment["DBT_TRAIDER_HOST"] == "/tmp/pg-socket"
    assert environment["DBT_TRAIDER_PORT"] == "5432"
    assert environment[PASSWORD_VARIABLE] == ""
    assert environment["DBT_TRAIDER_APP_ROLE"] == "postgres"


def test_url_without_host_raises_one_line() -> None:
    url = parse_database_url("postgresql://postgres@/traider")
    with pytest.raises(ConfigurationError, match=r"^TRAIDER_DATABASE_URL names no host or socket directory"):
        dbt_environment(url, Settings(database_url=SecretStr("postgresql://postgres@/traider")))


def test_profile_file_holds_no_secret_and_reads_every_variable() -> None:
    profile = PROFILE.read_text()
    assert "password: \"{{ env_var('" + PASSWORD_VARIABLE + "', '') }}\"" in profile
    url = parse_database_url("postgresql://u:p@h:1/d")
    for variable in dbt_environment(url, Settings()):
        if variable.startswith("DBT_TRAIDER_") and variable != "DBT_TRAIDER_APP_ROLE":
            assert f"env_var('{variable}'" in profile, variable
