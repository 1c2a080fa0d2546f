"""Resolve which PostgreSQL server to use and check that it answers, with one-line errors."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from traider.config import Settings
from traider.db import embedded
from traider.errors import ConfigurationError, DatabaseUnreachableError

_EXPECTED = "expected postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"


def parse_database_url(raw: str, *, setting: str = "TRAIDER_DATABASE_URL") -> URL:
    """Parse a PostgreSQL URL and pin the psycopg 3 driver; raise ConfigurationError when malformed."""
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError) as error:
        raise ConfigurationError(f"{setting} is malformed ({_first_line(error)}); {_EXPECTED}") from error
    backend = url.get_backend_name()
    if backend != "postgresql":
        raise ConfigurationError(f"{setting} names the backend {backend!r}, not PostgreSQL; {_EXPECTED}")
    if not url.database:
        raise ConfigurationError(f"{setting} names no database; {_EXPECTED}")
    return url.set(drivername="postgresql+psycopg")


def resolve_database_url(settings: Settings) -> URL:
    """Return the URL of the configured server, starting the embedded one when no URL is set."""
    if settings.database_url is None:
        return parse_database_url(embedded.start(settings.embedded_pgdata), setting="embedded server URI")
    return parse_database_url(settings.database_url.get_secret_value())


def describe_server(url: URL) -> str:
    """Name the server a URL points at, for messages: host and port, or the socket directory."""
    socket_dir = url.query.get("host")
    if url.host:
        return f"{url.host}:{url.port or 5432}"
    if socket_dir:
        return f"socket {socket_dir if isinstance(socket_dir, str) else socket_dir[0]}"
    return "the default local socket"


def check_reachable(url: URL, *, timeout_s: int, setting: str = "TRAIDER_DATABASE_URL") -> None:
    """Open and close one connection; raise DatabaseUnreachableError naming the server if that fails."""
    import psycopg

    try:
        with psycopg.connect(libpq_dsn(url), connect_timeout=timeout_s):
            pass
    except psycopg.Error as error:
        raise DatabaseUnreachableError(
            f"{setting}: cannot connect to PostgreSQL at {describe_server(url)} "
            f"({_first_line(error)}); start the server or correct the URL"
        ) from error


def libpq_dsn(url: URL) -> str:
    """Render a SQLAlchemy URL as a libpq URI (for psycopg and psql)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
