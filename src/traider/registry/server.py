"""The MLflow tracking server: a real `mlflow server` process, its backend store in TRAIDER's PostgreSQL.

Layout under `$TRAIDER_HOME`: `mlflow/artifacts/` (the artifact store, served through the server's
`mlflow-artifacts:` proxy, so clients need no file access), `mlflow/server.pid` (written by `start`,
read by `stop` and `server_status`), `mlflow/basic_auth.ini` and `logs/mlflow.log`. The backend store
is its own database (`TRAIDER_MLFLOW_DATABASE`, created when missing) on the server TRAIDER uses; with
basic-auth its users live in `<database>_auth`. The server listens on 127.0.0.1 only.

Secrets never reach a command line, a file or the log: the database URLs the server gets carry no
password (libpq reads it from `PGPASSWORD` in the server's environment), the admin password goes in
`MLFLOW_AUTH_ADMIN_PASSWORD` (MLflow creates the admin user with it on first start), and the Flask
secret key is `MLFLOW_FLASK_SERVER_SECRET_KEY` from the environment or a fresh random one per start.
MLflow's job runner (GenAI jobs, unused here) is switched off.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import URL

from traider.config import Settings
from traider.processes import last_log_line, process_alive, reap, remember, started
from traider.registry.client import check_credentials, is_healthy
from traider.registry.errors import MlflowServerError

HOST = "127.0.0.1"
MIN_PASSWORD_LENGTH = 12  # MLflow's own rule for user passwords
AUTH_CACHE_TTL_S = 60


@dataclass(frozen=True)
class MlflowServerConfig:
    """Everything one local MLflow server needs; `database_url` may hold a password (never shown).

    `database_url` is TRAIDER's own database: the connection used to create MLflow's databases on the
    same server. `database` names the backend store.
    """

    database_url: URL
    database: str
    home: Path
    port: int
    workers: int = 2
    auth: bool = True
    admin_username: str = "admin"
    admin_password: SecretStr | None = None

    @property
    def tracking_uri(self) -> str:
        """Return the URL clients use."""
        return f"http://{HOST}:{self.port}"

    @property
    def artifacts(self) -> Path:
        """Return the local artifact store."""
        return self.home / "mlflow" / "artifacts"

    @property
    def pid_file(self) -> Path:
        """Return the file holding the server's process id."""
        return pid_file(self.home)

    @property
    def auth_config_file(self) -> Path:
        """Return the basic-auth configuration file (no secret in it)."""
        return self.home / "mlflow" / "basic_auth.ini"

    @property
    def log_file(self) -> Path:
        """Return the server's log file."""
        return self.home / "logs" / "mlflow.log"

    @property
    def backend_url(self) -> URL:
        """Return the URL of the backend store database."""
        return self.database_url.set(drivername="postgresql+psycopg", database=self.database)

    @property
    def auth_url(self) -> URL:
        """Return the URL of the basic-auth user database."""
        return self.backend_url.set(database=f"{self.database}_auth")


def config_from_settings(
    settings: Settings, database_url: URL, environ: Mapping[str, str] | None = None
) -> MlflowServerConfig:
    """Build the server configuration from the settings, TRAIDER's database URL and MLFLOW_TRACKING_* credentials."""
    environment = os.environ if environ is None else environ
    password = environment.get("MLFLOW_TRACKING_PASSWORD")
    return MlflowServerConfig(
        database_url=database_url,
        database=settings.mlflow_database,
        home=settings.home.expanduser().resolve(),
        port=settings.mlflow_port,
        workers=settings.mlflow_workers,
        auth=settings.mlflow_auth,
        admin_username=environment.get("MLFLOW_TRACKING_USERNAME") or "admin",
        admin_password=SecretStr(password) if password else None,
    )


def ensure_database(server_url: URL, name: str) -> bool:
    """Create MLflow's database `name` on the server `server_url` points at unless it exists."""
    from traider.db.databases import ensure_database as create_once

    return create_once(server_url, name, purpose="MLflow's")


def start(config: MlflowServerConfig, *, timeout_s: float = 180.0) -> bool:
    """Start the server unless it already runs and answers; return True when this call started it.

    Create the backend (and auth) databases when missing, wait until `/health` answers and, with
    basic-auth, until the admin credentials are accepted; a failure stops the server and raises a
    one-line MlflowServerError naming the log.
    """
    if config.auth:
        require_admin_password(_secret(config.admin_password))
    running = running_pid(config.home)
    if running is not None:
        if is_healthy(config.tracking_uri):
            return False
        raise MlflowServerError(
            f"the MLflow server started from {config.home} (pid {running}) does not answer on {config.tracking_uri}; "
            "run `traider mlflow down`, then `traider mlflow up`"
        )
    if is_healthy(config.tracking_uri):
        raise MlflowServerError(
            f"something else already answers on port {config.port} (not started from {config.home}); "
            "stop it or set TRAIDER_MLFLOW_PORT to a free port"
        )
    ensure_database(config.database_url, config.database)
    if config.auth:
        ensure_database(config.database_url, f"{config.database}_auth")
        write_auth_config(config)
    for directory in (config.artifacts, config.log_file.parent, config.pid_file.parent):
        directory.mkdir(parents=True, exist_ok=True)
    process = _spawn(config)
    config.pid_file.write_text(json.dumps({"pid": process.pid, "port": config.port}))
    try:
        _wait_until_healthy(config, process, timeout_s)
        if config.auth:
            check_credentials(config.tracking_uri, config.admin_username, _secret(config.admin_password))
    except BaseException:
        stop(config.home)
        raise
    return True


def stop(home: Path, *, timeout_s: float = 30.0) -> bool:
    """Stop the server started from `home` (its whole process group); return False if none was running."""
    pid = running_pid(home)
    pid_file(home).unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    if not _wait_for_exit(pid, timeout_s):
        _signal_group(pid, signal.SIGKILL)
        _wait_for_exit(pid, timeout_s)
    return True


def pid_file(home: Path) -> Path:
    """Return the file holding the process id of the server started from `home`."""
    return home.expanduser().resolve() / "mlflow" / "server.pid"


def running_pid(home: Path) -> int | None:
    """Return the pid of the server started from `home` if it is alive; drop a stale pid file."""
    path = pid_file(home)
    try:
        pid = int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if process_alive(pid) and _is_mlflow_server(pid):
        return pid
    path.unlink(missing_ok=True)
    return None


def require_admin_password(password: str | None) -> None:
    """Raise a one-line MlflowServerError unless the basic-auth admin password is set and long enough."""
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        problem = "is not set" if password is None else f"is shorter than {MIN_PASSWORD_LENGTH} characters"
        raise MlflowServerError(
            f"MLFLOW_TRACKING_PASSWORD {problem}: basic-auth (TRAIDER_MLFLOW_AUTH) needs the admin password from the "
            "environment, e.g. export MLFLOW_TRACKING_PASSWORD=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(24))')"
        )


def server_environment(config: MlflowServerConfig) -> dict[str, str]:
    """Return the environment of the server process: no TRAIDER_* or client MLFLOW_* variable, secrets by env."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRAIDER_", "MLFLOW_", "PGPASSWORD", "AIRFLOW_CONN_"))
    }
    environment["MLFLOW_BACKEND_STORE_URI"] = _without_password(config.backend_url)
    environment["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    if config.backend_url.password:
        environment["PGPASSWORD"] = str(config.backend_url.password)
    if config.auth:
        environment["MLFLOW_AUTH_CONFIG_PATH"] = str(config.auth_config_file)
        environment["MLFLOW_AUTH_ADMIN_USERNAME"] = config.admin_username
        environment["MLFLOW_AUTH_ADMIN_PASSWORD"] = _secret(config.admin_password) or ""
        environment["MLFLOW_FLASK_SERVER_SECRET_KEY"] = os.environ.get(
            "MLFLOW_FLASK_SERVER_SECRET_KEY"
        ) or secrets.token_hex(32)
    return environment


def write_auth_config(config: MlflowServerConfig) -> None:
    """Write the basic-auth configuration (owner-only, no secret in it) that MLFLOW_AUTH_CONFIG_PATH names."""
    parser = configparser.RawConfigParser()
    parser["mlflow"] = {
        "default_permission": "NO_PERMISSIONS",
        # MLflow reads this file with interpolation: a socket path's %2F must be written %%2F
        "database_uri": _without_password(config.auth_url).replace("%", "%%"),
        "admin_username": config.admin_username,
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
        # without the cache every request pays a PBKDF2 password check (~0.3 s); a changed password
        # reaches the other workers within this many seconds
        "auth_cache_ttl_seconds": str(AUTH_CACHE_TTL_S),
    }
    config.auth_config_file.parent.mkdir(parents=True, exist_ok=True)
    with config.auth_config_file.open("w") as handle:
        parser.write(handle)
    config.auth_config_file.chmod(0o600)


def _spawn(config: MlflowServerConfig) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", HOST,
        "--port", str(config.port),
        "--workers", str(config.workers),
        "--artifacts-destination", str(config.artifacts),
    ]  # fmt: skip
    if config.auth:
        command += ["--app-name", "basic-auth"]
    with config.log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_environment(config),
            cwd=config.home,
            start_new_session=True,  # its own process group, so `stop` ends the workers with it
        )
    remember(process)
    return process


def _wait_until_healthy(config: MlflowServerConfig, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_healthy(config.tracking_uri, timeout_s=1.0):
            return
        if process.poll() is not None:
            raise MlflowServerError(
                f"the MLflow server exited during start-up (code {process.returncode}): "
                f"{last_log_line(config.log_file)}; see {config.log_file}"
            )
        time.sleep(0.25)
    raise MlflowServerError(
        f"the MLflow server did not answer on {config.tracking_uri} within {timeout_s:.0f} s; see {config.log_file}"
    )


def _is_mlflow_server(pid: int) -> bool:
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pid file
    return b"mlflow" in b" ".join(arguments) and b"server" in arguments


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _wait_for_exit(pid: int, timeout_s: float) -> bool:
    process = started(pid)
    if process is not None:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        reap(pid)
        return True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.1)
    return False


def _without_password(url: URL) -> str:
    # URL.set() treats None as "unchanged", so the password is dropped with the NamedTuple's _replace
    return url.set(drivername="postgresql+psycopg")._replace(password=None).render_as_string(hide_password=False)


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()
