"""Run TRAIDER's MLflow tracking server in the foreground, as a container's main process.

`traider mlflow up` is made for a workstation: it starts the server in the background, listening on
127.0.0.1 only, and returns. A container needs the server itself as its process, listening on every
interface so that other containers and pods reach it. This script prepares exactly what `traider mlflow up`
prepares, with the library's own functions (the backend and basic-auth databases, the basic-auth file
without a secret in it, the server's environment with secrets passed only by environment variables), then
replaces itself with `python -m mlflow server`.

Environment: TRAIDER_DATABASE_URL (required here: no embedded server in a container), MLFLOW_TRACKING_USERNAME
and MLFLOW_TRACKING_PASSWORD (the basic-auth admin), TRAIDER_MLFLOW_* (port, workers, database, auth) and
MLFLOW_SERVER_ALLOWED_HOSTS / MLFLOW_SERVER_CORS_ALLOWED_ORIGINS (host names the server answers to, e.g. its
Service name; MLflow's default is localhost and private addresses only).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from traider.config import Settings
from traider.db.url import check_reachable, parse_database_url
from traider.errors import DatabaseUnreachableError, TraiderError
from traider.registry import server
from traider.registry.errors import MlflowServerError
from traider.registry.server import MlflowServerConfig

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# MLflow's own settings that the container passes through (server_environment() drops every MLFLOW_* variable
# so that client credentials never reach the server process).
PASSED_THROUGH = ("MLFLOW_SERVER_ALLOWED_HOSTS", "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS", "MLFLOW_FLASK_SERVER_SECRET_KEY")


def build_command(config: MlflowServerConfig, *, host: str) -> list[str]:
    """Return the argv of the foreground server: no secret on it (they travel in the environment)."""
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", host,
        "--port", str(config.port),
        "--workers", str(config.workers),
        "--artifacts-destination", str(config.artifacts),
    ]  # fmt: skip
    if config.auth:
        command += ["--app-name", "basic-auth"]
    return command


def build_environment(config: MlflowServerConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the server process's environment: the library's, plus the MLflow settings passed through."""
    environment = server.server_environment(config)
    for name in PASSED_THROUGH:
        if environ.get(name):
            environment[name] = environ[name]
    return environment


def wait_for_database(url: URL, *, timeout_s: float, connect_timeout_s: int) -> None:
    """Retry until the PostgreSQL server answers (a pod may start before its database); raise the last error."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            check_reachable(url, timeout_s=connect_timeout_s)
            return
        except DatabaseUnreachableError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(2.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the databases and the basic-auth file, then exec the MLflow server (never returns on success)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0", help="Interface to listen on (default: all).")
    parser.add_argument("--db-wait", type=float, default=120.0, help="Seconds to wait for PostgreSQL to answer.")
    arguments = parser.parse_args(argv)
    try:
        settings = Settings()
        if settings.database_url is None:
            raise MlflowServerError(
                "TRAIDER_DATABASE_URL is not set: the MLflow container needs the PostgreSQL server of its backend store"
            )
        url = parse_database_url(settings.database_url.get_secret_value())
        config = server.config_from_settings(settings, url)
        if config.auth:
            server.require_admin_password(os.environ.get("MLFLOW_TRACKING_PASSWORD"))
        wait_for_database(url, timeout_s=arguments.db_wait, connect_timeout_s=settings.database_connect_timeout_s)
        server.ensure_database(url, config.database)
        if config.auth:
            server.ensure_database(url, f"{config.database}_auth")
            server.write_auth_config(config)
        config.artifacts.mkdir(parents=True, exist_ok=True)
    except TraiderError as error:
        print(f"mlflow_entrypoint: {error}", file=sys.stderr)
        return 2
    command = build_command(config, host=arguments.host)
    print(f"mlflow_entrypoint: starting {' '.join(command[1:])}", file=sys.stderr, flush=True)
    os.execve(command[0], command, build_environment(config, os.environ))
    return 0  # pragma: no cover (execve does not return)


if __name__ == "__main__":
    raise SystemExit(main())
