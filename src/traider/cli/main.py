"""Entry point of the `traider` command."""

from __future__ import annotations

import logging

import typer

from traider.cli import airflow, audit, config, dashboard, db, kill_switch, mlflow_server, model
from traider.cli.backtest import backtest
from traider.cli.context import error_console
from traider.cli.demo import demo
from traider.cli.ingest import ingest
from traider.cli.train import train
from traider.cli.worker import worker
from traider.errors import TraiderError

app = typer.Typer(
    help="TRAIDER: an Airflow-orchestrated crypto trading platform. Start with `traider db up`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(config.app, name="config")
app.add_typer(model.app, name="model")
app.add_typer(mlflow_server.app, name="mlflow")
app.add_typer(kill_switch.app, name="kill-switch")
app.add_typer(dashboard.app, name="dashboard")
app.add_typer(airflow.app, name="airflow")
app.command(name="ingest")(ingest)
app.command(name="backtest")(backtest)
app.command(name="demo")(demo)
app.command(name="train")(train)
app.command(name="worker")(worker)


def main() -> None:
    """Run the command line; expected failures print one line and exit with their code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.ERROR)
    try:
        app()
    except TraiderError as error:
        error_console.print(f"traider: error: {error}", soft_wrap=True)
        raise SystemExit(error.exit_code) from None


if __name__ == "__main__":
    main()
