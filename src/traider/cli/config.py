"""`traider config`: show the effective settings, secrets masked."""

from __future__ import annotations

import typer
from rich.table import Table

from traider.cli.context import console, load_settings

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@app.command()
def show() -> None:
    """Print every TRAIDER_* setting with its effective value; secrets are masked."""
    settings = load_settings()
    table = Table(title="Effective settings")
    table.add_column("variable")
    table.add_column("value")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        table.add_row(f"TRAIDER_{name.upper()}", "(unset)" if value is None else str(value))
    console.print(table)
