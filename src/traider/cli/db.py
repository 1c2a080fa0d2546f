"""`traider db`: start, stop, migrate and inspect the PostgreSQL database."""

from __future__ import annotations

import typer
from rich.table import Table

from traider.cli.context import console, load_settings
from traider.db import embedded, migrate
from traider.db.engine import admin_engine
from traider.db.status import database_status
from traider.db.url import check_reachable, describe_server, parse_database_url

app = typer.Typer(help="Start, stop, migrate and inspect the PostgreSQL database.", no_args_is_help=True)


@app.command()
def up() -> None:
    """Start the embedded PostgreSQL server (reused if already running).

    With TRAIDER_DATABASE_URL set, check that server answers and start nothing.
    """
    settings = load_settings()
    if settings.database_url is not None:
        url = parse_database_url(settings.database_url.get_secret_value())
        check_reachable(url, timeout_s=settings.database_connect_timeout_s)
        console.print(f"TRAIDER_DATABASE_URL is set: using PostgreSQL at {describe_server(url)}; nothing started.")
        return
    already = embedded.running_uri(settings.embedded_pgdata) is not None
    url = parse_database_url(embedded.start(settings.embedded_pgdata), setting="embedded server URI")
    verb = "already running" if already else "started"
    console.print(f"Embedded PostgreSQL {verb}: data in {settings.embedded_pgdata.resolve()}, {describe_server(url)}.")


@app.command()
def down() -> None:
    """Stop the embedded PostgreSQL server (its data stays in $TRAIDER_HOME/pg)."""
    settings = load_settings()
    if settings.database_url is not None:
        console.print("TRAIDER_DATABASE_URL is set: that server is not managed here; nothing stopped.")
        return
    if embedded.stop(settings.embedded_pgdata):
        console.print(f"Embedded PostgreSQL stopped (data kept in {settings.embedded_pgdata.resolve()}).")
    else:
        console.print("Embedded PostgreSQL was not running.")


@app.command(name="migrate")
def migrate_command(
    revision: str = typer.Option("head", help="Revision to upgrade to."),
) -> None:
    """Apply the schema migrations; running it again when up to date changes nothing."""
    engine = admin_engine(load_settings())
    with engine.connect() as connection:
        before = migrate.current_revision(connection)
    migrate.upgrade(engine, revision)
    with engine.connect() as connection:
        after = migrate.current_revision(connection)
    engine.dispose()
    if before == after:
        console.print(f"Schema already at revision {after}; nothing to do.")
    else:
        console.print(f"Schema migrated from revision {before or 'none'} to {after}.")


@app.command()
def status() -> None:
    """Print the server version, TimescaleDB use, schema revision and row counts per table."""
    engine = admin_engine(load_settings())
    with engine.connect() as connection:
        report = database_status(connection)
    engine.dispose()
    storage = "TimescaleDB hypertables" if report.timescale_active else "plain PostgreSQL (monthly partitions)"
    revision = report.revision or "none (run `traider db migrate`)"
    state = "up to date" if report.up_to_date else f"behind: the code is at {report.head_revision}"
    console.print(f"Server:    PostgreSQL {report.server_version}, database {report.database}")
    console.print(f"Storage:   {storage}; TimescaleDB active: {'yes' if report.timescale_active else 'no'}")
    console.print(f"Revision:  {revision} ({state})")
    table = Table(title="Rows per table")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for count in report.tables:
        table.add_row(count.table, f"{count.rows:,}")
    console.print(table)
