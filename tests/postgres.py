"""Real PostgreSQL servers and throwaway databases for the tests.

The machine's server at 127.0.0.1:5432 is used when it answers (override with
TRAIDER_TEST_ADMIN_URL); otherwise an embedded server is started in a temporary directory.
Every test session works in fresh databases of its own, dropped at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from traider.db import embedded, migrate
from traider.db.engine import make_engine
from traider.db.url import libpq_dsn, parse_database_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def machine_server_admin_url() -> str | None:
    """Return the admin URL of the machine's PostgreSQL if it answers, else None."""
    url = os.environ.get("TRAIDER_TEST_ADMIN_URL", DEFAULT_ADMIN_URL)
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.Error:
        return None


@contextmanager
def admin_server_url() -> Iterator[str]:
    """Yield an admin libpq URL: the machine's server, or an embedded one started for the session."""
    url = machine_server_admin_url()
    if url is not None:
        yield url
        return
    pgserver = embedded.pgserver_module()
    with tempfile.TemporaryDirectory(prefix="traider-pg-") as directory:
        Path(directory).chmod(0o755)
        server = pgserver.get_server(Path(directory) / "pg", cleanup_mode="stop")
        yield str(server.get_uri())


@contextmanager
def fresh_database(admin_url: str, *, migrated: bool = True) -> Iterator[URL]:
    """Create a database with a unique name, optionally migrate it, yield its URL, then drop it."""
    name = f"traider_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = parse_database_url(admin_url, setting="test server").set(database=name)
    try:
        if migrated:
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def connect(url: URL, *, role: str | None = None, autocommit: bool = False) -> psycopg.Connection:
    """Open a psycopg connection to `url`, optionally switched to `role`."""
    connection = psycopg.connect(libpq_dsn(url), autocommit=autocommit)
    if role:
        connection.execute(f'SET ROLE "{role}"')
        if not autocommit:
            connection.commit()
    return connection
