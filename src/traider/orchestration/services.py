"""The Airflow 3 platform as local services: api-server, scheduler, dag-processor, triggerer (+ a Celery worker).

`traider airflow up|down|status` drive this module; the tests start the same services through it.

Layout under `$TRAIDER_HOME`:

- `airflow/` is `AIRFLOW_HOME` (owner-only; its `airflow.cfg` is a stub: every setting is an environment
  variable of the services). It holds the generated secrets, each in an owner-only (0600) file made once
  and reused on every start: `jwt_secret` (`AIRFLOW__API_AUTH__JWT_SECRET`, shared by every component, so the
  api-server accepts the tokens the scheduler issues to tasks), `api_secret_key` (`[api] secret_key`) and
  `fernet_key` (encrypts connections and variables in the metadata database);
- `airflow/simple_auth_manager_passwords.json` (0600): SimpleAuthManager's users and passwords, the only place
  the admin's generated password is kept (Airflow reads it there; `start` reports it once, when it makes it);
- `airflow/run/<component>.pid`: the pid (and the process's start time, so a recycled pid is never taken
  for ours) of every service `start` spawned, read by `stop` and `status`; `airflow/platform.json`: the URL,
  executor and components of the last start;
- `logs/airflow/<component>.log`: each service's output; `logs/airflow/tasks/`: task logs;
  `logs/airflow/dag_processor/`: DAG parsing logs; `logs/airflow/migrate.log`: `airflow db migrate`.

The metadata database is a database of its own on TRAIDER's PostgreSQL server (psycopg2 driver); its URL
reaches the services without a password, which goes in `PGPASSWORD`. The api-server listens on 127.0.0.1
only; no service starts Airflow's log server (every component writes its logs to this machine's disk, where
the api-server reads them), so the platform listens on one port.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy.engine import URL

from traider.errors import TraiderError
from traider.processes import last_log_line, process_alive, reap, remember

HOST = "127.0.0.1"
Executor = Literal["LocalExecutor", "CeleryExecutor"]
ADMIN_ROLE = "admin"
CORE_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CELERY_WORKER = "celery-worker"
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
EXECUTORS: dict[str, Executor] = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
_SIGTERM_AGAIN_AFTER_S = 4.0  # a second SIGTERM makes the services skip their grace periods
# the triggerer holds no task (its triggers go back to the queue) but can take 10 s more to stop its runner
_SIGKILL_AFTER_S = {"triggerer": 6.0}


class AirflowPlatformError(TraiderError):
    """The Airflow platform cannot be started, stopped or reached; the message is one line."""

    exit_code = 2


@dataclass(frozen=True)
class AirflowPlatformConfig:
    """Everything one local Airflow platform needs; `metadata_url` may hold a password (never shown).

    `environment` is added to every service's environment (and so reaches the tasks): TRAIDER's own
    settings such as `TRAIDER_DATABASE_URL`, which the DAGs' tasks use.
    """

    home: Path
    metadata_url: URL
    dags_folder: Path
    plugins_folder: Path
    port: int = 8080
    executor: Executor = "LocalExecutor"
    broker_url: str | None = None
    parallelism: int = 8
    celery_concurrency: int = 2
    admin_username: str = "admin"
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Return the api-server's base URL (UI and REST API)."""
        return f"http://{HOST}:{self.port}"

    @property
    def components(self) -> tuple[str, ...]:
        """Return the services of this platform, in start order."""
        return (*CORE_COMPONENTS, CELERY_WORKER) if self.executor == "CeleryExecutor" else CORE_COMPONENTS

    @property
    def airflow_home(self) -> Path:
        """Return AIRFLOW_HOME."""
        return airflow_home(self.home)

    @property
    def passwords_file(self) -> Path:
        """Return SimpleAuthManager's passwords file."""
        return passwords_file(self.home)

    @property
    def log_dir(self) -> Path:
        """Return the directory of the services' logs (task logs below it, in `tasks/`)."""
        return log_dir(self.home)

    def log_file(self, component: str) -> Path:
        """Return the log file of one service."""
        return self.log_dir / f"{component}.log"


@dataclass(frozen=True)
class AdminCredentials:
    """The admin user of the platform; `generated` is True only on the call that made the password."""

    username: str
    password: str
    generated: bool
    passwords_file: Path


@dataclass(frozen=True)
class StartResult:
    """What `start` did: the services it started, those already running, and the admin credentials."""

    started: tuple[str, ...]
    already_running: tuple[str, ...]
    credentials: AdminCredentials
    url: str


@dataclass(frozen=True)
class PlatformStatus:
    """What runs: pid per service (None when not running), the URL, and Airflow's health report if it answers."""

    url: str | None
    executor: str | None
    pids: dict[str, int | None]
    health: dict[str, Any] | None

    @property
    def running(self) -> bool:
        """Return True when every service of the last start runs and the api-server answers."""
        return bool(self.pids) and all(pid is not None for pid in self.pids.values()) and self.health is not None


def airflow_home(home: Path) -> Path:
    """Return the AIRFLOW_HOME of the platform started from TRAIDER_HOME `home`."""
    return home.expanduser().resolve() / "airflow"


def passwords_file(home: Path) -> Path:
    """Return SimpleAuthManager's passwords file of the platform started from `home`."""
    return airflow_home(home) / "simple_auth_manager_passwords.json"


def log_dir(home: Path) -> Path:
    """Return the directory of the platform's logs."""
    return home.expanduser().resolve() / "logs" / "airflow"


def metadata_url_for(server_url: URL, database: str) -> URL:
    """Return the URL of Airflow's metadata database `database` on the server `server_url` points at."""
    return server_url.set(drivername="postgresql+psycopg2", database=database)


def ensure_database(server_url: URL, name: str) -> bool:
    """Create Airflow's metadata database `name` on the server `server_url` points at unless it exists."""
    from traider.db.databases import ensure_database as create_once

    return create_once(server_url, name, purpose="Airflow's metadata")


def prepare(config: AirflowPlatformConfig) -> AdminCredentials:
    """Make the directories, the secrets (once) and the admin's password (once); return the admin credentials."""
    for directory in (config.airflow_home, config.airflow_home / "run", config.log_dir):
        directory.mkdir(parents=True, exist_ok=True)
    config.airflow_home.chmod(0o700)
    config_file = config.airflow_home / "airflow.cfg"
    if not config_file.exists():  # else Airflow writes a full default one, with unused random secrets in it
        config_file.write_text(
            "# Airflow reads its settings from AIRFLOW__* environment variables set by `traider airflow up`\n"
            "# (traider.orchestration.services); settings added here are overridden by those.\n"
        )
    _secret_file(config.airflow_home / "jwt_secret", lambda: secrets.token_urlsafe(64))
    _secret_file(config.airflow_home / "api_secret_key", lambda: secrets.token_urlsafe(32))
    _secret_file(config.airflow_home / "fernet_key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())
    return _admin_credentials(config.passwords_file, config.admin_username)


def read_admin_password(home: Path, username: str = "admin") -> str | None:
    """Return the generated password of `username` of the platform started from `home`, or None."""
    try:
        passwords = json.loads(passwords_file(home).read_text())
    except (OSError, ValueError):
        return None
    value = passwords.get(username) if isinstance(passwords, dict) else None
    return value if isinstance(value, str) and value else None


def service_environment(config: AirflowPlatformConfig) -> dict[str, str]:
    """Return the environment of every service: Airflow's settings, the shared secrets, TRAIDER's settings."""
    home = config.airflow_home
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "TRAIDER_AIRFLOW_")) and key not in {"AIRFLOW_HOME", "AIRFLOW_CONFIG"}
    }
    environment = {**inherited, **config.environment}
    environment.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _without_password(config.metadata_url),
            "AIRFLOW__CORE__EXECUTOR": config.executor,
            "AIRFLOW__CORE__PARALLELISM": str(config.parallelism),
            "AIRFLOW__CORE__DAGS_FOLDER": str(config.dags_folder.resolve()),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(config.plugins_folder.resolve()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__FERNET_KEY": _read_secret(home / "fernet_key"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{config.admin_username}:{ADMIN_ROLE}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(config.passwords_file),
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(config.port),
            "AIRFLOW__API__BASE_URL": config.url,
            "AIRFLOW__API__SECRET_KEY": _read_secret(home / "api_secret_key"),
            "AIRFLOW__API_AUTH__JWT_SECRET": _read_secret(home / "jwt_secret"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(config.log_dir / "tasks"),
            "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(config.log_dir / "dag_processor"),
        }
    )
    if config.executor == "CeleryExecutor":
        if not config.broker_url:
            raise AirflowPlatformError("the CeleryExecutor needs a broker URL (e.g. redis://127.0.0.1:6379/0)")
        environment["AIRFLOW__CELERY__BROKER_URL"] = config.broker_url
        environment["AIRFLOW__CELERY__RESULT_BACKEND"] = config.broker_url
        environment["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(config.celery_concurrency)
    if config.metadata_url.password:  # else libpq's own PGPASSWORD / .pgpass, if any, still apply
        environment["PGPASSWORD"] = str(config.metadata_url.password)
    return environment


def migrate(config: AirflowPlatformConfig, *, timeout_s: float = 300.0) -> None:
    """Run `airflow db migrate` on the metadata database; raise a one-line error naming the log if it fails."""
    log_file = config.log_dir / "migrate.log"
    with log_file.open("ab") as log:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=service_environment(config),
                cwd=config.airflow_home,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise AirflowPlatformError(
                f"`airflow db migrate` did not finish within {timeout_s:.0f} s; see {log_file}"
            ) from error
    if done.returncode != 0:
        raise AirflowPlatformError(
            f"`airflow db migrate` failed (code {done.returncode}): {last_log_line(log_file)}; see {log_file}"
        )


def start(config: AirflowPlatformConfig, *, timeout_s: float = 180.0) -> StartResult:
    """Start every service of the platform that does not run yet and wait until Airflow reports them healthy.

    Migrates the metadata database first. Services already running from this `$TRAIDER_HOME` are kept. A
    failure stops everything this call started and raises a one-line AirflowPlatformError naming the log.
    """
    credentials = prepare(config)
    running = {component: running_pid(config.home, component) for component in config.components}
    missing = [component for component in config.components if running[component] is None]
    already = tuple(component for component in config.components if running[component] is not None)
    if not missing:
        return StartResult((), already, credentials, config.url)
    if "api-server" in missing and _port_in_use(config.port):
        raise AirflowPlatformError(
            f"something already listens on {HOST}:{config.port} (not an api-server started from {config.home}); "
            "stop it or choose another port (TRAIDER_AIRFLOW_PORT)"
        )
    if config.executor == "CeleryExecutor":
        _check_broker(config.broker_url)
    migrate(config)
    _write_platform_file(config)
    environment = service_environment(config)
    spawned: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for component in missing:
            spawned[component] = _spawn(config, component, environment)
        _wait_until_healthy(config, spawned, timeout_s)
    except BaseException:
        stop(config.home, components=list(spawned))
        raise
    return StartResult(tuple(missing), already, credentials, config.url)


def stop(home: Path, *, components: Iterable[str] | None = None, timeout_s: float = 30.0) -> list[str]:
    """Stop the services started from `home` (all, or `components`); return those that were running.

    Every service gets SIGTERM at once (a second one after a few seconds, which makes the slow ones skip
    their grace periods), then SIGKILL to its whole process group and to any process it left behind.
    """
    run_dir = airflow_home(home) / "run"
    names = list(components) if components is not None else sorted(path.stem for path in run_dir.glob("*.pid"))
    targets: dict[str, int] = {}
    for name in names:
        pid = running_pid(home, name)
        if pid is not None:
            targets[name] = pid
    family = {pid: descendants(pid) for pid in targets.values()}
    _terminate(targets, timeout_s)
    for pid, children in family.items():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        for child in children:
            if process_alive(child):
                _signal(child, signal.SIGKILL)
        _reap(pid)
    for name in names:
        (run_dir / f"{name}.pid").unlink(missing_ok=True)
    return [name for name in names if name in targets]


def _terminate(targets: Mapping[str, int], timeout_s: float) -> None:
    """SIGTERM every service, again after a few seconds, and wait up to `timeout_s` for all to exit."""
    for pid in targets.values():
        _signal(pid, signal.SIGTERM)
    began = time.monotonic()
    signalled_again = False
    while any(process_alive(pid) for pid in targets.values()) and time.monotonic() < began + timeout_s:
        elapsed = time.monotonic() - began
        for name, pid in targets.items():
            if not process_alive(pid):
                continue
            if elapsed > _SIGKILL_AFTER_S.get(name, timeout_s):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            elif not signalled_again and elapsed > _SIGTERM_AGAIN_AFTER_S:
                _signal(pid, signal.SIGTERM)
        signalled_again = signalled_again or elapsed > _SIGTERM_AGAIN_AFTER_S
        time.sleep(0.1)


def status(home: Path, *, timeout_s: float = 3.0) -> PlatformStatus:
    """Return what runs from `home` and, if the api-server answers, Airflow's health report."""
    platform = read_platform_file(home)
    components = platform.get("components") if platform else None
    names = list(components) if isinstance(components, list) else list(CORE_COMPONENTS)
    url = platform.get("url") if platform else None
    executor = platform.get("executor") if platform else None
    return PlatformStatus(
        url=url if isinstance(url, str) else None,
        executor=executor if isinstance(executor, str) else None,
        pids={name: running_pid(home, name) for name in names},
        health=health(url, timeout_s=timeout_s) if isinstance(url, str) else None,
    )


def read_platform_file(home: Path) -> dict[str, Any] | None:
    """Return what the last start wrote to `airflow/platform.json` (URL, executor, components), or None."""
    try:
        value = json.loads((airflow_home(home) / "platform.json").read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def health(url: str, *, timeout_s: float = 3.0) -> dict[str, Any] | None:
    """Return Airflow's health report (`GET /api/v2/monitor/health`, no credentials needed), or None."""
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/api/v2/monitor/health", timeout=timeout_s)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        report = response.json()
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def running_pid(home: Path, component: str) -> int | None:
    """Return the pid of `component` started from `home` if that very process is alive; drop a stale pid file."""
    path = airflow_home(home) / "run" / f"{component}.pid"
    try:
        record = json.loads(path.read_text())
        pid, started = int(record["pid"]), record.get("start")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if process_alive(pid) and (started is None or _start_time(pid) in (None, started)):
        return pid
    path.unlink(missing_ok=True)
    return None


def _command(config: AirflowPlatformConfig, component: str) -> list[str]:
    airflow = [sys.executable, "-m", "airflow"]
    if component == "api-server":
        return [*airflow, "api-server", "--host", HOST, "--port", str(config.port), "--workers", "1"]
    if component in ("scheduler", "triggerer"):
        return [*airflow, component, "--skip-serve-logs"]
    if component == "dag-processor":
        return [*airflow, "dag-processor"]
    if component == CELERY_WORKER:
        return [
            *airflow, "celery", "worker", "--skip-serve-logs",
            "--concurrency", str(config.celery_concurrency),
            "--celery-hostname", f"traider-{config.port}@%h",
        ]  # fmt: skip
    raise AirflowPlatformError(f"unknown Airflow component {component!r}")


def _spawn(config: AirflowPlatformConfig, component: str, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    with config.log_file(component).open("ab") as log:
        process = subprocess.Popen(
            _command(config, component),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=config.airflow_home,
            start_new_session=True,  # its own process group, so `stop` ends its workers with it
        )
    remember(process)
    record = {"pid": process.pid, "start": _start_time(process.pid), "port": config.port}
    (config.airflow_home / "run" / f"{component}.pid").write_text(json.dumps(record))
    return process


def _wait_until_healthy(
    config: AirflowPlatformConfig, spawned: Mapping[str, subprocess.Popen[bytes]], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    began = datetime.now(UTC) - timedelta(seconds=1)
    waiting_for = "the api-server"
    while time.monotonic() < deadline:
        for component, process in spawned.items():
            if process.poll() is not None:
                log_file = config.log_file(component)
                raise AirflowPlatformError(
                    f"the Airflow {component} exited during start-up (code {process.returncode}): "
                    f"{last_log_line(log_file)}; see {log_file}"
                )
        report = health(config.url, timeout_s=2.0)
        if report is not None:
            unhealthy = [
                component
                for component, key in HEALTH_KEYS.items()
                if not _healthy(report.get(key), since=began if component in spawned else None)
            ]
            if not unhealthy:
                return
            waiting_for = ", ".join(unhealthy)
        time.sleep(0.5)
    raise AirflowPlatformError(
        f"Airflow at {config.url} did not report {waiting_for} healthy within {timeout_s:.0f} s; "
        f"see the logs in {config.log_dir}"
    )


def _healthy(entry: Any, *, since: datetime | None) -> bool:
    """Return True when a component's health entry says healthy, with a heartbeat after `since` if given.

    The heartbeat condition keeps a job of an earlier run (killed, its last heartbeat still fresh) from
    passing for the process just started.
    """
    if not isinstance(entry, dict) or entry.get("status") != "healthy":
        return False
    if since is None:
        return True
    beats = [value for key, value in entry.items() if key.startswith("latest_") and isinstance(value, str)]
    try:
        return any(datetime.fromisoformat(beat) >= since for beat in beats)
    except ValueError:
        return True


def _check_broker(url: str | None) -> None:
    """Raise a one-line AirflowPlatformError unless the Celery broker accepts a TCP connection."""
    if not url:
        raise AirflowPlatformError("the CeleryExecutor needs a broker URL (e.g. redis://127.0.0.1:6379/0)")
    parts = urlsplit(url)
    default_ports = {"redis": 6379, "rediss": 6380, "amqp": 5672, "amqps": 5671, "pyamqp": 5672}
    if parts.scheme not in default_ports or not parts.hostname:
        return  # another transport: Celery reports its own errors in the worker's log
    port = parts.port or default_ports[parts.scheme]
    try:
        with socket.create_connection((parts.hostname, port), timeout=5):
            return
    except OSError as error:
        raise AirflowPlatformError(
            f"the Celery broker at {parts.hostname}:{port} does not answer ({error}); start it or set "
            "TRAIDER_AIRFLOW_BROKER_URL"
        ) from error


def _write_platform_file(config: AirflowPlatformConfig) -> None:
    record = {
        "url": config.url,
        "executor": config.executor,
        "components": list(config.components),
        "dags_folder": str(config.dags_folder.resolve()),
        "logs": str(config.log_dir),
    }
    (config.airflow_home / "platform.json").write_text(json.dumps(record, indent=2))


def _admin_credentials(path: Path, username: str) -> AdminCredentials:
    try:
        passwords = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError) as error:
        raise AirflowPlatformError(f"cannot read Airflow's passwords file {path} ({error}); remove it") from error
    if not isinstance(passwords, dict):
        raise AirflowPlatformError(f"Airflow's passwords file {path} is not a JSON object; remove it")
    existing = passwords.get(username)
    if isinstance(existing, str) and existing:
        path.chmod(0o600)
        return AdminCredentials(username, existing, False, path)
    password = secrets.token_urlsafe(18)
    passwords[username] = password
    _write_private(path, json.dumps(passwords) + "\n")
    return AdminCredentials(username, password, True, path)


def _secret_file(path: Path, make: Any) -> None:
    if path.exists():
        path.chmod(0o600)
        return
    _write_private(path, str(make()) + "\n")


def _read_secret(path: Path) -> str:
    try:
        value = path.read_text().strip()
    except OSError as error:
        raise AirflowPlatformError(f"cannot read the Airflow secret {path} ({error})") from error
    if not value:
        raise AirflowPlatformError(f"the Airflow secret {path} is empty; remove it and start again")
    return value


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by the owner only (0600 from the start, never wider)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    temporary.chmod(0o600)
    temporary.replace(path)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((HOST, port)) == 0


def _start_time(pid: int) -> int | None:
    """Return the start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def descendants(pid: int) -> list[int]:
    """Return every live descendant of `pid` (children, grandchildren…), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _reap(pid: int) -> None:
    reap(pid)


def _without_password(url: URL) -> str:
    # URL.set() treats None as "unchanged", so the password is dropped with the NamedTuple's _replace
    return url._replace(password=None).render_as_string(hide_password=False)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
