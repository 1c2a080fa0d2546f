"""`traider model`: see which version is in production, promote one by hand, roll back."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from traider.cli.context import console, load_settings
from traider.registry.errors import RegistryError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from sqlalchemy import Engine

    from traider.registry.decisions import DecisionRecord

app = typer.Typer(
    short_help="See the model in production, promote a version by hand, roll back.",
    help=(
        "The model registry's gate and its aliases. A version takes `production` from the gate (out-of-sample "
        "Sharpe, max drawdown, deflated Sharpe, look-ahead check, beating the champion) or by hand with `promote`; "
        "`rollback` moves `production` back to the previous champion. Every move is recorded in "
        "ops.model_decisions and the audit log with who did it and why. Needs the MLflow server "
        "(TRAIDER_MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME/PASSWORD) and the migrated database."
    ),
    no_args_is_help=True,
)

ACTOR_HELP = "Who is making the change (recorded); default: the operating-system user."


@app.command()
def status(
    names: Annotated[list[str] | None, typer.Argument(help="Registered models to show; default: all of them.")] = None,
    recent: int = typer.Option(5, min=0, help="How many recent decisions to list per model."),
) -> None:
    """Show each model's production and challenger versions, previous champion, and recent decisions."""
    from traider.registry.status import model_status

    with _registry() as (client, engine):
        statuses = model_status(client, engine, names or None, recent=recent)
    if not statuses:
        console.print("No registered models yet: the train DAG registers them.")
        return
    table = Table(title="Registered models")
    for column in ("model", "production", "challenger", "previous champion", "versions", "waiting for the gate"):
        table.add_column(column)
    for each in statuses:
        table.add_row(
            each.name,
            _version(each.production),
            _version(each.challenger),
            _version(each.previous_champion),
            str(each.versions),
            ", ".join(f"v{version}" for version in each.undecided) or "none",
        )
    console.print(table)
    for each in statuses:
        if each.recent:
            console.print(f"\n{each.name}: recent decisions")
            for decision in each.recent:
                console.print(f"  {_describe(decision)}")


@app.command()
def promote(
    name: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number to put in production."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded with the change)."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
    force: bool = typer.Option(
        False, "--force", help="Promote even a version the gate rejected or has not judged (recorded as an override)."
    ),
) -> None:
    """Give VERSION the alias `production` by hand; the version that held it becomes the previous champion."""
    from traider.registry.aliases import promote as promote_version

    with _registry() as (client, engine):
        stored = promote_version(client, engine, name, version, reason=reason, actor=_actor(actor), force=force)
    console.print(f"{name} v{stored.version} is in production (was {_version(stored.previous_version)}).")


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Registered model name."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded with the change)."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Move `production` back to the version that held it before the current one."""
    from traider.registry.aliases import rollback as rollback_model

    with _registry() as (client, engine):
        stored = rollback_model(client, engine, name, reason=reason, actor=_actor(actor))
    console.print(f"{name} rolled back: v{stored.version} is in production again (was v{stored.previous_version}).")


@contextmanager
def _registry() -> Iterator[tuple[MlflowClient, Engine]]:
    """Yield a checked MLflow client and an application engine on a current schema; MLflow errors as one line."""
    from mlflow.exceptions import MlflowException

    from traider.db.engine import application_engine
    from traider.db.migrate import require_current_schema
    from traider.registry.client import registry_client

    settings = load_settings()
    client = registry_client(settings)
    engine = application_engine(settings)
    try:
        with engine.connect() as connection:
            require_current_schema(connection)
        yield client, engine
    except MlflowException as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RegistryError(f"MLflow refused: {message}") from error
    finally:
        engine.dispose()


def _actor(given: str | None) -> str:
    if given and given.strip():
        return given.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid:{os.getuid()}"


def _version(version: int | str | None) -> str:
    return "—" if version is None else f"v{version}"


def _describe(decision: DecisionRecord) -> str:
    moved = f" ({decision.alias}, was {_version(decision.previous_version)})" if decision.alias else ""
    reasons = "; ".join(decision.reasons)
    return (
        f"{decision.decided_at:%Y-%m-%d %H:%M:%S} {decision.action} v{decision.version}: {decision.decision}{moved} "
        f"by {decision.actor} — {reasons}"
    )
