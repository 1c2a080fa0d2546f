"""`traider airflow`: run the Airflow 3 platform as local services, and trigger DAG runs through its REST API."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from traider.cli.context import console, load_settings
from traider.errors import ConfigurationError

REPO = Path(__file__).resolve().parents[3]
DEFAULT_PORT = 8080
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

app = typer.Typer(
    short_help="Run the Airflow platform (api-server, scheduler, dag-processor, triggerer) and trigger DAG runs.",
    help=(
        "Run Airflow 3 as local services started from $TRAIDER_HOME: api-server on 127.0.0.1:$TRAIDER_AIRFLOW_PORT "
        "(UI and REST API), scheduler (LocalExecutor, or CeleryExecutor with a Celery worker), dag-processor (DAGs "
        "from the repository's dags/) and triggerer. The metadata database is its own database "
        "(TRAIDER_AIRFLOW_DATABASE) on TRAIDER's PostgreSQL server; logs go to $TRAIDER_HOME/logs/airflow. Every "
        "UI and API call needs a login: the admin's password is generated on the first `up`, printed once, and "
        "kept for Airflow in $TRAIDER_HOME/airflow/simple_auth_manager_passwords.json (owner-only)."
    ),
    no_args_is_help=True,
)


@app.command()
def up(
    port: Annotated[
        int, typer.Option(envvar="TRAIDER_AIRFLOW_PORT", min=1, max=65535, help="Port of the api-server (127.0.0.1).")
    ] = DEFAULT_PORT,
    database: Annotated[
        str, typer.Option(envvar="TRAIDER_AIRFLOW_DATABASE", help="Airflow's metadata database (created if missing).")
    ] = "airflow",
    executor: Annotated[
        str, typer.Option(envvar="TRAIDER_AIRFLOW_EXECUTOR", help="local (LocalExecutor) or celery (+ a worker).")
    ] = "local",
    broker_url: Annotated[
        str, typer.Option(envvar="TRAIDER_AIRFLOW_BROKER_URL", help="Celery broker (and result backend) URL.")
    ] = "redis://127.0.0.1:6379/0",
    parallelism: Annotated[
        int, typer.Option(envvar="TRAIDER_AIRFLOW_PARALLELISM", min=1, max=256, help="Task slots of the scheduler.")
    ] = 8,
    dags_folder: Annotated[Path, typer.Option(help="Folder of the DAG files.")] = REPO / "dags",
    plugins_folder: Annotated[Path, typer.Option(help="Folder of the Airflow plugins.")] = REPO / "plugins",
    timeout: Annotated[float, typer.Option(help="Seconds to wait until every service is healthy.")] = 180.0,
) -> None:
    """Migrate the metadata database, start the services that do not run yet, and wait until they are healthy."""
    from traider.db.url import check_reachable, libpq_dsn, resolve_database_url
    from traider.orchestration import services

    if executor not in services.EXECUTORS:
        raise ConfigurationError(f"--executor {executor!r}: choose local or celery")
    if not _valid_database_name(database):
        raise ConfigurationError(f"TRAIDER_AIRFLOW_DATABASE {database!r}: use lower-case letters, digits and _")
    if not dags_folder.is_dir():
        raise ConfigurationError(f"--dags-folder {dags_folder} is not a directory")
    settings = load_settings()
    server_url = resolve_database_url(settings)
    check_reachable(server_url, timeout_s=settings.database_connect_timeout_s)
    services.ensure_database(server_url, database)
    home = settings.home.expanduser().resolve()
    environment = {"TRAIDER_HOME": str(home)}
    if settings.database_url is None:  # the tasks use the embedded server this command found (or started)
        environment["TRAIDER_DATABASE_URL"] = libpq_dsn(server_url)
    config = services.AirflowPlatformConfig(
        home=home,
        metadata_url=services.metadata_url_for(server_url, database),
        dags_folder=dags_folder.resolve(),
        plugins_folder=plugins_folder.resolve(),
        port=port,
        executor=services.EXECUTORS[executor],
        broker_url=broker_url if executor == "celery" else None,
        parallelism=parallelism,
        environment=environment,
    )
    credentials = services.prepare(config)  # the password is made here, once, and shown below even if start fails
    try:
        result = services.start(config, timeout_s=timeout)
        if result.started:
            console.print(
                f"Airflow started at {result.url} ({config.executor}): {', '.join(result.started)}"
                + (f" (already running: {', '.join(result.already_running)})" if result.already_running else "")
                + f"; metadata database {database}, DAGs from {config.dags_folder}, logs in {config.log_dir}."
            )
        else:
            console.print(f"Airflow already running at {result.url}: {', '.join(result.already_running)}.")
    finally:
        if credentials.generated:
            console.print(
                f"Admin user {credentials.username!r}, password (shown this once; Airflow keeps it in "
                f"{credentials.passwords_file}, readable by you only): {credentials.password}"
            )
        else:
            console.print(f"Admin user {credentials.username!r}; its password is in {credentials.passwords_file}.")


@app.command()
def down() -> None:
    """Stop every Airflow service started from this $TRAIDER_HOME (metadata database and logs are kept)."""
    from traider.orchestration import services

    stopped = services.stop(load_settings().home)
    if stopped:
        console.print(f"Airflow stopped: {', '.join(stopped)} (metadata database and logs kept).")
    else:
        console.print("Airflow was not running.")


@app.command()
def status() -> None:
    """Print which services run (pids from $TRAIDER_HOME), their health and the URL; exit 1 unless all run."""
    from traider.orchestration import services

    home = load_settings().home
    report = services.status(home)
    if report.url is None:
        console.print(f"Airflow has not been started from {home.resolve()} (run `traider airflow up`).")
        raise typer.Exit(code=1)
    answers = "answers" if report.health is not None else "does NOT answer"
    console.print(f"Airflow at {report.url} ({answers}; {report.executor}); UI and REST API need a login.")
    for component, pid in report.pids.items():
        state = f"pid {pid}" if pid is not None else "NOT running"
        key = services.HEALTH_KEYS.get(component)
        if key and report.health is not None:
            state += f", {(report.health.get(key) or {}).get('status') or 'unknown'}"
        elif component == "api-server" and pid is not None:
            state += f", {'answers' if report.health is not None else 'does not answer'}"
        console.print(f"  {component:<14} {state}")
    console.print(f"Logs in {services.log_dir(home)}; admin password in {services.passwords_file(home)}.")
    if not report.running:
        raise typer.Exit(code=1)


@app.command()
def trigger(
    dag_id: Annotated[str, typer.Argument(help="The DAG to run.")],
    conf: Annotated[str, typer.Option("--conf", help="The run's conf, a JSON object.")] = "{}",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the run to finish.")] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the run (with --wait).")] = 3600.0,
    poll: Annotated[float, typer.Option(min=0.2, help="Seconds between checks of the run's state.")] = 2.0,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="TRAIDER_AIRFLOW_URL", help="Base URL of the api-server. Default: the local platform's URL."
        ),
    ] = None,
) -> None:
    """Trigger a DAG run through Airflow's REST API (unpausing the DAG if needed); with --wait, wait for it.

    Logs in as TRAIDER_AIRFLOW_USERNAME (default admin) with TRAIDER_AIRFLOW_PASSWORD; against the local
    platform the generated password is read from $TRAIDER_HOME when TRAIDER_AIRFLOW_PASSWORD is unset. Exit
    code 0: triggered (with --wait: the run succeeded); 1: the run failed or did not finish in time; 2: it
    could not be triggered (unreachable server, refused credentials, unknown DAG, bad --conf).
    """
    from traider.orchestration.trigger import AirflowClient, trigger_dag_run

    run_conf = _parse_conf(conf)
    base_url = _base_url(url)
    username, password = _credentials(base_url)
    began = time.monotonic()

    def show(line: str) -> None:
        console.print(f"[{time.monotonic() - began:5.1f} s] {line}")

    with AirflowClient(base_url, username, password) as client:
        result = trigger_dag_run(client, dag_id, run_conf, wait=wait, timeout_s=timeout, poll_s=poll, report=show)
    if not wait:
        console.print(f"DAG run {result.run_id} of {dag_id} triggered on {base_url}.")
        return
    for task in result.tasks:
        mapped = f"[{task.map_index}]" if task.map_index >= 0 else ""
        duration = f"{task.duration_s:.1f} s" if task.duration_s is not None else "-"
        console.print(f"  {task.task_id + mapped:<40} {task.state or 'no state':<16} try {task.try_number}  {duration}")
    if result.timed_out:
        console.print(f"{dag_id}: run {result.run_id} still {result.state} after {timeout:.0f} s: giving up waiting.")
        raise typer.Exit(code=1)
    console.print(f"{dag_id}: run {result.run_id} finished {result.state}.")
    if not result.succeeded:
        raise typer.Exit(code=1)


def _parse_conf(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ConfigurationError(f"--conf is not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise ConfigurationError('--conf must be a JSON object, e.g. \'{"key": "value"}\'')
    return value


def _base_url(url: str | None) -> str:
    from traider.orchestration import services

    if url:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigurationError(f"--url / TRAIDER_AIRFLOW_URL {url!r}: expected http(s)://HOST[:PORT]")
        return url.rstrip("/")
    platform = services.read_platform_file(load_settings().home)
    local = platform.get("url") if platform else None
    if isinstance(local, str):
        return local
    return f"http://{services.HOST}:{os.environ.get('TRAIDER_AIRFLOW_PORT') or DEFAULT_PORT}"


def _credentials(base_url: str) -> tuple[str, str]:
    """Return the username and password: from the environment, else the local platform's generated password."""
    from traider.orchestration import services

    username = os.environ.get("TRAIDER_AIRFLOW_USERNAME") or "admin"
    password = os.environ.get("TRAIDER_AIRFLOW_PASSWORD")
    if password:
        return username, password
    if urlsplit(base_url).hostname in LOOPBACK:  # never send the local password anywhere else
        local = services.read_admin_password(load_settings().home, username)
        if local:
            return username, local
    raise ConfigurationError(
        f"no password for Airflow user {username!r} at {base_url}: set TRAIDER_AIRFLOW_USERNAME and "
        "TRAIDER_AIRFLOW_PASSWORD (the local platform's generated password is in "
        "$TRAIDER_HOME/airflow/simple_auth_manager_passwords.json)"
    )


def _valid_database_name(name: str) -> bool:
    import re

    return re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) is not None
