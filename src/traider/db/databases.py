"""Databases of their own on TRAIDER's server (MLflow's backend store, Airflow's metadata), created once."""

from __future__ import annotations

from sqlalchemy.engine import URL

from traider.db.url import describe_server, libpq_dsn
from traider.errors import TraiderError


class DatabaseCreationError(TraiderError):
    """A database could not be created on the server; the message says which, where, and what to do."""


def ensure_database(server_url: URL, name: str, *, purpose: str) -> bool:
    """Create database `name` on the server `server_url` points at unless it exists; return True if created."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(libpq_dsn(server_url), autocommit=True, connect_timeout=10) as connection:
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseCreationError(
            f"cannot create {purpose} database {name!r} on PostgreSQL at {describe_server(server_url)} ({first}); "
            "create it yourself or grant CREATEDB to the login role"
        ) from error
