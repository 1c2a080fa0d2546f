from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from tests.postgres import connect


def _partitions(connection: psycopg.Connection, parent: str) -> list[tuple[str, str]]:
    rows = connection.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(%s AS regclass) ORDER BY c.relname",
        (parent,),
    ).fetchall()
    return [(str(name), str(bound)) for name, bound in rows]


def test_ensure_monthly_partitions_creates_utc_months_once(database_url: URL, clean_tables: Engine) -> None:
    with connect(database_url, role="traider_app") as connection:
        connection.execute("SET TIME ZONE 'America/New_York'")
        created = connection.execute(
            "SELECT ops.ensure_monthly_partitions('market.funding_rates', '2021-11-15 12:00+00', '2022-01-31 23:59+00')"
        ).fetchone()
        again = connection.execute(
            "SELECT ops.ensure_monthly_partitions('market.funding_rates', '2021-12-01 00:00+00', '2022-01-01 00:00+00')"
        ).fetchone()
        connection.execute("SET TIME ZONE 'UTC'")
        partitions = [p for p in _partitions(connection, "market.funding_rates") if p[0] < "funding_rates_p202202"]
        connection.commit()
    assert created == (3,)
    assert again == (0,)
    names = [name for name, _ in partitions if name >= "funding_rates_p202111"]
    assert names == ["funding_rates_p202111", "funding_rates_p202112", "funding_rates_p202201"]
    bound = dict(partitions)["funding_rates_p202112"]
    assert bound == "FOR VALUES FROM ('2021-12-01 00:00:00+00') TO ('2022-01-01 00:00:00+00')"


def test_ensure_monthly_partitions_refuses_absurd_span(database_url: URL) -> None:
    with connect(database_url, role="traider_app") as connection:
        with pytest.raises(psycopg.errors.RaiseException, match="more than 600"):
            connection.execute("SELECT ops.ensure_monthly_partitions('market.trades', '2010-01-01', '2090-01-01')")
        connection.rollback()


def test_insert_without_partition_fails_instead_of_landing_somewhere(database_url: URL) -> None:
    with connect(database_url, role="traider_app") as connection:
        with pytest.raises(psycopg.errors.CheckViolation, match="no partition"):
            connection.execute(
                "INSERT INTO market.trades (venue, symbol, trade_id, ts, price, amount) "
                "VALUES ('sim', 'X/Y', '1', '2031-07-01', 1, 1)"
            )
        connection.rollback()


def test_ensure_monthly_partitions_ignores_unpartitioned_table(database_url: URL) -> None:
    with connect(database_url, role="traider_app") as connection:
        created = connection.execute(
            "SELECT ops.ensure_monthly_partitions('market.instruments', '2020-01-01', '2020-03-01')"
        ).fetchone()
        connection.rollback()
    assert created == (0,)
