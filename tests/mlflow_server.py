"""A real MLflow tracking server for the tests: one per session, basic-auth on, backend store in PostgreSQL.

The server is the one `traider mlflow up` runs (`traider.registry.server`), on a free loopback port, with a
fresh backend database (and its `_auth` user database) on the test PostgreSQL server, dropped at the end.
For the whole session MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD hold the generated admin
credentials, as `make up` will set them, so any MLflow client in the test process is authenticated;
`environment` gives a child process everything it needs.
"""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from pydantic import SecretStr

from traider.db.url import parse_database_url
from traider.registry import server

if TYPE_CHECKING:
    from mlflow import MlflowClient

USERNAME = "admin"


@dataclass(frozen=True)
class MlflowTestServer:
    """The running server: where it is, its admin credentials, its $TRAIDER_HOME and backend database."""

    tracking_uri: str
    username: str
    password: str
    home: Path
    port: int
    database: str

    @property
    def environment(self) -> dict[str, str]:
        """Return the variables a child process (CLI, DAG run) needs to use this server."""
        return {
            "TRAIDER_MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_TRACKING_USERNAME": self.username,
            "MLFLOW_TRACKING_PASSWORD": self.password,
        }

    def client(self) -> MlflowClient:
        """Return an MLflow client on this server (tracking and registry)."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def mlflow_server(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowTestServer]:
    """Start a real MLflow server for the session and stop it (and drop its databases) at the end."""
    password = secrets.token_urlsafe(24)
    database = f"traider_test_mlflow_{uuid.uuid4().hex[:12]}"
    home = tmp_path_factory.mktemp("mlflow-home")
    config = server.MlflowServerConfig(
        database_url=parse_database_url(admin_url, setting="test server"),
        database=database,
        home=home,
        port=free_port(),
        workers=1,
        auth=True,
        admin_username=USERNAME,
        admin_password=SecretStr(password),
    )
    try:
        server.start(config)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLFLOW_TRACKING_USERNAME", USERNAME)
            patch.setenv("MLFLOW_TRACKING_PASSWORD", password)
            yield MlflowTestServer(config.tracking_uri, USERNAME, password, config.home, config.port, database)
    finally:
        server.stop(config.home)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            for name in (database, f"{database}_auth"):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
