from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from tests.postgres import connect
from traider.db import migrate
from traider.db.engine import make_engine

SERIES_TABLES = ("ohlcv", "trades", "book_snapshots", "book_deltas", "funding_rates")
NewDatabase = Callable[..., AbstractContextManager[URL]]


def _catalog_snapshot(connection: Connection) -> list[tuple[str, ...]]:
    """Every relation, column, constraint, index, trigger and privilege in the platform schemas."""
    queries = [
        "SELECT n.nspname, c.relname, c.relkind::text, coalesce(array_to_string(c.relacl, ','), '') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname IN ('market', 'trading', 'ops', 'audit')",
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema IN ('market', 'trading', 'ops', 'audit')",
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace::regnamespace::text IN ('market', 'trading', 'ops', 'audit')",
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal",
    ]
    rows: list[tuple[str, ...]] = []
    for query in queries:
        rows.extend(tuple(str(value) for value in row) for row in connection.execute(text(query)))
    return sorted(rows)


def test_migrate_twice_is_a_no_op(new_database: NewDatabase) -> None:
    with new_database(migrated=False) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        with engine.connect() as connection:
            first = _catalog_snapshot(connection)
            assert migrate.current_revision(connection) == migrate.head_revision()
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert _catalog_snapshot(connection) == first
            assert migrate.current_revision(connection) == migrate.head_revision()
        engine.dispose()


def test_migrate_downgrade_to_base_and_back_restores_schema(new_database: NewDatabase) -> None:
    with new_database(migrated=False) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        with engine.connect() as connection:
            first = _catalog_snapshot(connection)
        migrate.downgrade(engine, "base")
        with engine.connect() as connection:
            schemas = connection.execute(
                text("SELECT count(*) FROM pg_namespace WHERE nspname IN ('market', 'trading', 'ops', 'audit')")
            ).scalar_one()
            assert schemas == 0
            assert migrate.current_revision(connection) is None
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert _catalog_snapshot(connection) == first
        engine.dispose()


@pytest.mark.parametrize("table", SERIES_TABLES)
def test_series_table_is_range_partitioned_with_brin_index(admin_engine: Engine, table: str) -> None:
    with admin_engine.connect() as connection:
        partition_key = connection.execute(
            text("SELECT pg_get_partkeydef(CAST(:table AS regclass))"), {"table": f"market.{table}"}
        ).scalar_one()
        brin = connection.execute(
            text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'market' AND tablename = :table "
                "AND indexdef ILIKE '%USING brin (ts)%'"
            ),
            {"table": table},
        ).scalar_one()
    assert partition_key == "RANGE (ts)"
    assert brin == 1


def test_schema_has_expected_tables(admin_engine: Engine) -> None:
    expected = {
        "market.instruments", "market.ohlcv", "market.trades", "market.book_snapshots",
        "market.book_deltas", "market.funding_rates", "market.ingest_watermarks",
        "trading.orders", "trading.fills", "trading.positions", "trading.balances", "trading.pnl_snapshots",
        "ops.quality_results", "ops.quarantine", "ops.alerts", "ops.heartbeats", "audit.events",
    }  # fmt: skip
    with admin_engine.connect() as connection:
        tables = set(
            connection.execute(
                text(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema IN ('market', 'trading', 'ops', 'audit')"
                )
            ).scalars()
        )
    assert expected <= tables


def test_application_role_writes_market_but_cannot_alter_schema(database_url: URL) -> None:
    with connect(database_url, role="traider_app") as connection:
        connection.execute(
            "INSERT INTO market.instruments (venue, symbol, base, quote, kind, tick_size, lot_size) "
            "VALUES ('sim', 'ROLE/TEST', 'ROLE', 'TEST', 'spot', 0.01, 0.001)"
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("ALTER TABLE market.instruments ADD COLUMN sneaky text")
        connection.rollback()
