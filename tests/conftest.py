"""Shared fixtures: one migrated database per test session on a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tests.mlflow_server import mlflow_server  # noqa: F401 (a session fixture: pytest finds it by name)
from tests.postgres import admin_server_url, fresh_database
from traider.db.engine import make_engine

# CI replays a fixed set of generated examples, so a submission's result never depends on luck; developers'
# runs stay random and find new cases. No deadline: a loaded 2-core machine makes timings meaningless here.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

CLEANABLE_TABLES = (
    "market.instruments",
    "market.ingest_watermarks",
    "market.ohlcv",
    "market.trades",
    "market.book_snapshots",
    "market.book_deltas",
    "market.funding_rates",
    "trading.fills",
    "trading.orders",
    "trading.positions",
    "trading.balances",
    "trading.pnl_snapshots",
    "trading.worker_state",
    "ops.kill_switch",
    "ops.quality_results",
    "ops.quarantine",
    "ops.alerts",
    "ops.heartbeats",
    "ops.live_replays",
)


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """Admin libpq URL of the PostgreSQL server the tests use."""
    with admin_server_url() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[URL]:
    """URL of this session's migrated database."""
    with fresh_database(admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def admin_engine(database_url: URL) -> Iterator[Engine]:
    """Engine on the session database as the login (admin) role."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app_engine(database_url: URL) -> Iterator[Engine]:
    """Engine on the session database as the least-privilege application role."""
    engine = make_engine(database_url, role="traider_app")
    yield engine
    engine.dispose()


@pytest.fixture
def clean_tables(admin_engine: Engine) -> Engine:
    """Empty every market, trading and ops table before the test; return the admin engine."""
    with admin_engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(CLEANABLE_TABLES)} CASCADE"))
    return admin_engine


@pytest.fixture
def new_database(admin_url: str) -> Iterator[Callable[..., AbstractContextManager[URL]]]:
    """Factory of extra throwaway databases: `with new_database() as url: ...`."""

    def factory(*, migrated: bool = True) -> AbstractContextManager[URL]:
        return fresh_database(admin_url, migrated=migrated)

    yield factory


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only shared market data directory (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}; the tests read real data from ../shared/data")
    return SHARED_DATA
