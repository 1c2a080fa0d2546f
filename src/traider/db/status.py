"""Gather what `traider db status` reports about a database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from traider.db.migrate import current_revision, head_revision
from traider.db.timescale import timescale_active

PLATFORM_SCHEMAS = ("market", "trading", "ops", "audit")


@dataclass(frozen=True)
class TableCount:
    """Exact row count of one table."""

    table: str
    rows: int


@dataclass(frozen=True)
class DatabaseStatus:
    """Server version, storage path, schema revision and table sizes."""

    server_version: str
    database: str
    timescale_active: bool
    revision: str | None
    head_revision: str
    tables: tuple[TableCount, ...]

    @property
    def up_to_date(self) -> bool:
        """Return True when every migration the code knows has been applied."""
        return self.revision == self.head_revision


def database_status(connection: Connection) -> DatabaseStatus:
    """Return the status of the database `connection` is on."""
    server_version: str = connection.execute(text("SHOW server_version")).scalar_one()
    database: str = connection.execute(text("SELECT current_database()")).scalar_one()
    return DatabaseStatus(
        server_version=str(server_version),
        database=str(database),
        timescale_active=timescale_active(connection),
        revision=current_revision(connection),
        head_revision=head_revision(),
        tables=tuple(_table_counts(connection)),
    )


def _table_counts(connection: Connection) -> list[TableCount]:
    names: list[str] = list(
        connection.execute(
            text(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ANY(:schemas) AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
                "ORDER BY n.nspname, c.relname"
            ),
            {"schemas": list(PLATFORM_SCHEMAS)},
        ).scalars()
    )
    counts = []
    for name in names:
        schema, table = name.split(".")
        rows: int = connection.execute(text(f'SELECT count(*) FROM "{schema}"."{table}"')).scalar_one()
        counts.append(TableCount(table=name, rows=int(rows)))
    return counts
