"""Detect whether TimescaleDB can be used on a server."""

from __future__ import annotations

from sqlalchemy import Connection, text


def timescale_available(connection: Connection) -> bool:
    """Return True when the timescaledb extension is installed on the server and preloaded."""
    available: int = connection.execute(
        text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).scalar_one()
    if not available:
        return False
    preload: str = connection.execute(text("SELECT current_setting('shared_preload_libraries')")).scalar_one()
    return "timescaledb" in str(preload)


def timescale_active(connection: Connection) -> bool:
    """Return True when the timescaledb extension is created in the current database."""
    return bool(
        connection.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")).scalar_one()
    )
