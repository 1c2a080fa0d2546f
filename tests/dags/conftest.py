"""Fixtures for DAG tests: an Airflow metadata database and the exchange emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from tests.dags.airflow_env import AirflowEnvironment, airflow_environment
from traider.marketdata.emulator.server import ExchangeEmulator


@pytest.fixture(scope="session")
def airflow_env(
    admin_url: str, database_url: URL, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowEnvironment]:
    """A migrated Airflow metadata database (its own) next to the session's TRAIDER database."""
    from tests.postgres import fresh_database

    with fresh_database(admin_url, migrated=False) as metadata_url:
        home = tmp_path_factory.mktemp("airflow")
        with airflow_environment(metadata_url, database_url, home) as environment:
            yield environment


@pytest.fixture(scope="session")
def emulator() -> Iterator[ExchangeEmulator]:
    """The exchange emulator serving recorded payloads on a loopback port."""
    with ExchangeEmulator() as running:
        yield running


def emulator_root(emulator: ExchangeEmulator) -> str:
    """Return the emulator's root URL (venue prefixes are appended by the ccxt source)."""
    return emulator.base_url("coinbase").rsplit("/", 1)[0]


@pytest.fixture
def dbt_schemas_dropped_afterwards(admin_engine: Engine) -> Iterator[None]:
    """Leave the session database as the other tests expect it: without the feature schemas dbt built."""
    yield
    with admin_engine.begin() as connection:
        for schema in ("features", "intermediate", "staging"):
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
