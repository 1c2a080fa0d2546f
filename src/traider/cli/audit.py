"""`traider audit`: verify the hash chain of the audit log."""

from __future__ import annotations

import typer

from traider.audit import verify
from traider.cli.context import console, load_settings
from traider.db.engine import application_engine
from traider.db.migrate import require_current_schema

app = typer.Typer(help="Inspect the append-only audit log.", no_args_is_help=True)


@app.command(name="verify")
def verify_command() -> None:
    """Walk the audit chain and report the first broken link; exit 1 if there is one."""
    engine = application_engine(load_settings())
    with engine.connect() as connection:
        require_current_schema(connection)
        report = verify(connection)
    engine.dispose()
    if report.first_break is None:
        console.print(f"Audit chain intact: {report.rows_checked:,} events verified.")
        return
    console.print(
        f"Audit chain BROKEN at seq {report.first_break.seq}: {report.first_break.reason} "
        f"({report.rows_checked:,} events verified before it)."
    )
    raise typer.Exit(code=1)
