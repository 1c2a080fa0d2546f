"""The `traider` command as a user runs it: a real process, real servers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from traider.db.migrate import head_revision
from traider.db.url import libpq_dsn

HEAD = head_revision()

NewDatabase = Callable[..., AbstractContextManager[URL]]


def traider(
    *arguments: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRAIDER_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "traider", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=120,
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", [("db", "status"), ("db", "migrate"), ("audit", "verify")])
def test_unreachable_database_url_gives_one_line_and_exit_2(command: tuple[str, ...]) -> None:
    result = traider(*command, env={"TRAIDER_DATABASE_URL": "postgresql://trader:hunter2@127.0.0.1:1/traider"})
    _assert_one_line_error(result, "TRAIDER_DATABASE_URL", "127.0.0.1:1")
    assert "hunter2" not in result.stderr + result.stdout


def test_malformed_database_url_gives_one_line_and_exit_2() -> None:
    result = traider("db", "status", env={"TRAIDER_DATABASE_URL": "postgres//missing-colon"})
    _assert_one_line_error(result, "TRAIDER_DATABASE_URL", "malformed")


def test_invalid_setting_gives_one_line_and_exit_2() -> None:
    result = traider("db", "status", env={"TRAIDER_LOG_LEVEL": "LOUD"})
    _assert_one_line_error(result, "TRAIDER_LOG_LEVEL")


def test_db_migrate_twice_then_status(new_database: NewDatabase) -> None:
    with new_database(migrated=False) as url:
        env = {"TRAIDER_DATABASE_URL": libpq_dsn(url)}
        first = traider("db", "migrate", env=env)
        assert first.returncode == 0, first.stderr
        assert f"from revision none to {HEAD}" in first.stdout
        second = traider("db", "migrate", env=env)
        assert second.returncode == 0, second.stderr
        assert f"already at revision {HEAD}" in second.stdout
        status = traider("db", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert f"Revision:  {HEAD} (up to date)" in status.stdout
        assert "TimescaleDB active: no" in status.stdout
        assert "market.ohlcv" in status.stdout
        up = traider("db", "up", env=env)
        assert "nothing started" in up.stdout


def test_config_show_masks_the_database_password() -> None:
    result = traider("config", "show", env={"TRAIDER_DATABASE_URL": "postgresql://trader:hunter2@db:5432/x"})
    assert result.returncode == 0, result.stderr
    assert "TRAIDER_DATABASE_URL" in result.stdout
    assert "hunter2" not in result.stdout


def test_help_lists_command_groups() -> None:
    result = traider("--help")
    assert result.returncode == 0
    for group in ("db", "audit", "config"):
        assert group in result.stdout


def test_demo_path_on_embedded_server(tmp_path: Path) -> None:
    """What `make demo` runs at this stage: start the embedded server, migrate, print status."""
    tmp_path.chmod(0o755)
    env = {"TRAIDER_HOME": str(tmp_path / "state")}
    try:
        up = traider("db", "up", env=env)
        assert up.returncode == 0, up.stderr
        assert "Embedded PostgreSQL started" in up.stdout
        assert traider("db", "up", env=env).stdout.startswith("Embedded PostgreSQL already running")
        migrated = traider("db", "migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        status = traider("db", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert "Server:    PostgreSQL 16" in status.stdout
        assert f"Revision:  {HEAD} (up to date)" in status.stdout
    finally:
        down = traider("db", "down", env=env)
    assert "stopped" in down.stdout
    assert (tmp_path / "state" / "pg" / "PG_VERSION").is_file()


def test_tests_fall_back_to_an_embedded_server_when_none_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from tests.postgres import admin_server_url

    monkeypatch.setenv("TRAIDER_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    with admin_server_url() as url, psycopg.connect(url) as connection:
        version = connection.execute("SHOW server_version_num").fetchone()
    assert "host=/" in url
    assert version is not None and int(version[0]) >= 160000


def test_audit_verify_before_migrations_says_to_migrate(new_database: NewDatabase) -> None:
    with new_database(migrated=False) as url:
        result = traider("audit", "verify", env={"TRAIDER_DATABASE_URL": libpq_dsn(url)})
    _assert_one_line_error(result, "revision none", "traider db migrate")
