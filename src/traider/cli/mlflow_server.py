"""`traider mlflow`: start, stop and inspect the local MLflow tracking server."""

from __future__ import annotations

import os

import typer

from traider.cli.context import console, load_settings
from traider.config import Settings
from traider.registry import server
from traider.registry.client import is_healthy

app = typer.Typer(
    short_help="Start, stop and inspect the local MLflow tracking server.",
    help=(
        "Start, stop and inspect the local MLflow tracking server: backend store in its own PostgreSQL database "
        "(TRAIDER_MLFLOW_DATABASE), artifacts in $TRAIDER_HOME/mlflow/artifacts, log in $TRAIDER_HOME/logs/mlflow.log, "
        "listening on 127.0.0.1:$TRAIDER_MLFLOW_PORT. With TRAIDER_MLFLOW_AUTH (the default) every UI and API call "
        "needs basic-auth: the admin is MLFLOW_TRACKING_USERNAME (default admin) with MLFLOW_TRACKING_PASSWORD."
    ),
    no_args_is_help=True,
)


@app.command()
def up(
    timeout: float = typer.Option(180.0, help="Seconds to wait for the server to answer."),
) -> None:
    """Start the server (reused if already running) and wait until it answers.

    Creates its databases when missing. With TRAIDER_MLFLOW_TRACKING_URI set, check that server answers
    and start nothing.
    """
    settings = load_settings()
    if settings.mlflow_tracking_uri is not None:
        healthy = is_healthy(settings.mlflow_tracking_uri)
        state = "answers" if healthy else "does NOT answer"
        console.print(f"TRAIDER_MLFLOW_TRACKING_URI is set: the MLflow server there {state}; nothing started.")
        if not healthy:
            raise typer.Exit(code=1)
        return
    if settings.mlflow_auth:
        server.require_admin_password(os.environ.get("MLFLOW_TRACKING_PASSWORD"))
    config = _config(settings)
    started = server.start(config, timeout_s=timeout)
    verb = "started" if started else "already running"
    auth = "basic-auth on" if config.auth else "NO authentication (TRAIDER_MLFLOW_AUTH=false)"
    console.print(
        f"MLflow server {verb} at {config.tracking_uri} ({auth}); backend store database {config.database}, "
        f"artifacts in {config.artifacts}, log in {config.log_file}."
    )


@app.command()
def down() -> None:
    """Stop the server started from this $TRAIDER_HOME (its databases and artifacts are kept)."""
    if server.stop(load_settings().home):
        console.print("MLflow server stopped (backend store and artifacts kept).")
    else:
        console.print("MLflow server was not running.")


@app.command()
def status() -> None:
    """Print whether the server runs (pid from $TRAIDER_HOME) and whether its URL answers; exit 1 if it does not."""
    settings = load_settings()
    uri = settings.mlflow_uri
    healthy = is_healthy(uri)
    pid = server.running_pid(settings.home)
    process = f"pid {pid}" if pid is not None else "not started from this $TRAIDER_HOME"
    console.print(
        f"MLflow tracking URI: {uri} ({'answers' if healthy else 'does not answer'}); local server: {process}."
    )
    if not healthy:
        raise typer.Exit(code=1)


def _config(settings: Settings) -> server.MlflowServerConfig:
    from traider.db.url import check_reachable, resolve_database_url

    url = resolve_database_url(settings)
    check_reachable(url, timeout_s=settings.database_connect_timeout_s)
    return server.config_from_settings(settings, url)
