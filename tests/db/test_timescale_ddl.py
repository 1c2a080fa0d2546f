"""The TimescaleDB path cannot run here (no extension package), so its DDL is checked as text."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import ModuleType

import pytest
from sqlalchemy.engine import URL

from tests.postgres import connect
from traider.db.migrate import MIGRATIONS_DIR
from traider.db.timeseries import SeriesTable, partitioned_ddl, series_table_ddl, timescale_ddl


def _market_migration() -> ModuleType:
    path = MIGRATIONS_DIR / "versions" / "0002_market.py"
    spec = importlib.util.spec_from_file_location("migration_0002_market", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SERIES: tuple[SeriesTable, ...] = _market_migration().SERIES


@pytest.mark.parametrize("table", SERIES, ids=lambda table: table.name)
def test_timescale_ddl_makes_compressed_hypertable(table: SeriesTable) -> None:
    create, hypertable, compress, policy = timescale_ddl(table)
    assert create.startswith(f"CREATE TABLE {table.qualified_name} (")
    assert "PARTITION BY" not in create
    assert hypertable == (
        f"SELECT create_hypertable('{table.qualified_name}', by_range('ts', INTERVAL '{table.chunk_interval}'))"
    )
    assert f"timescaledb.compress_segmentby = '{', '.join(table.segment_by)}'" in compress
    assert "timescaledb.compress_orderby = 'ts DESC'" in compress
    assert policy == f"SELECT add_compression_policy('{table.qualified_name}', INTERVAL '{table.compress_after}')"
    # segment-by columns must be columns of the table and part of its primary key
    primary_key = create.split("PRIMARY KEY (")[1].split(")")[0]
    for column in table.segment_by:
        assert column in primary_key


@pytest.mark.parametrize("table", SERIES, ids=lambda table: table.name)
def test_series_table_ddl_chooses_path(table: SeriesTable) -> None:
    assert series_table_ddl(table, timescale=True) == timescale_ddl(table)
    assert series_table_ddl(table, timescale=False) == partitioned_ddl(table)
    assert "PARTITION BY RANGE (ts)" in partitioned_ddl(table)[0]


def test_timescale_create_table_statements_are_valid_postgresql(
    new_database: Callable[..., AbstractContextManager[URL]],
) -> None:
    """Run the hypertable path's CREATE TABLE statements on a plain server: only the Timescale calls differ."""
    with new_database(migrated=False) as url, connect(url) as connection:
        connection.execute("CREATE SCHEMA market")
        for table in SERIES:
            connection.execute(timescale_ddl(table)[0])
        connection.commit()
        kinds = connection.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'market' AND c.relkind IN ('r', 'p')"
        ).fetchall()
    assert sorted(kind for (kind,) in kinds) == ["r"] * len(SERIES)
