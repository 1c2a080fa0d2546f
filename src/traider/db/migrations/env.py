"""Alembic environment: runs the migrations on the connection handed over by `traider.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from traider.config import get_settings
from traider.db.engine import admin_engine

# Serialises concurrent `traider db migrate` runs against one database.
_MIGRATION_LOCK_KEY = 7_474_281_001


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
    with context.begin_transaction():
        context.get_bind().execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"))
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with admin_engine(get_settings()).begin() as new_connection:
        _run(new_connection)
