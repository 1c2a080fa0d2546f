"""DDL for time-series tables: TimescaleDB hypertables when the extension is there, else partitions.

Both paths are generated here from one description of the table, so the migrations name each
series once. The plain path (declarative range partitioning by month plus a BRIN index on time)
is what runs on machines without TimescaleDB; `ops.ensure_monthly_partitions` creates partitions
on demand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeriesTable:
    """A time-series table: where it lives, its time column and how TimescaleDB should store it."""

    schema: str
    name: str
    columns_sql: str
    segment_by: tuple[str, ...]
    time_column: str = "ts"
    chunk_interval: str = "7 days"
    compress_after: str = "30 days"

    @property
    def qualified_name(self) -> str:
        """Return `schema.name`."""
        return f"{self.schema}.{self.name}"


def partitioned_ddl(table: SeriesTable) -> list[str]:
    """Return the statements creating `table` range-partitioned by month with a BRIN time index."""
    return [
        f"CREATE TABLE {table.qualified_name} (\n{table.columns_sql}\n) PARTITION BY RANGE ({table.time_column})",
        f"CREATE INDEX {table.name}_{table.time_column}_brin ON {table.qualified_name} "
        f"USING brin ({table.time_column})",
    ]


def timescale_ddl(table: SeriesTable) -> list[str]:
    """Return the statements creating `table` as a compressed TimescaleDB hypertable."""
    segment_by = ", ".join(table.segment_by)
    return [
        f"CREATE TABLE {table.qualified_name} (\n{table.columns_sql}\n)",
        f"SELECT create_hypertable('{table.qualified_name}', "
        f"by_range('{table.time_column}', INTERVAL '{table.chunk_interval}'))",
        f"ALTER TABLE {table.qualified_name} SET (timescaledb.compress, "
        f"timescaledb.compress_segmentby = '{segment_by}', "
        f"timescaledb.compress_orderby = '{table.time_column} DESC')",
        f"SELECT add_compression_policy('{table.qualified_name}', INTERVAL '{table.compress_after}')",
    ]


def series_table_ddl(table: SeriesTable, *, timescale: bool) -> list[str]:
    """Return the DDL for `table` on the storage path in use."""
    return timescale_ddl(table) if timescale else partitioned_ddl(table)
