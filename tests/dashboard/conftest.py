"""Fixtures of the dashboard tests: the seeded database and a configured dashboard user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import Engine

from tests.dashboard.seed import seed, utc_now
from traider.dashboard import auth

USER, PASSWORD = "operator", "correct horse battery staple"


@dataclass(frozen=True)
class Seeded:
    """What `seeded` wrote: the clock it used and the model it recorded."""

    now: datetime
    model: str


@pytest.fixture
def seeded(clean_tables: Engine, app_engine: Engine) -> Seeded:
    """Empty the trading, market and ops tables, then write the dashboard data set ending now."""
    now = utc_now()
    return Seeded(now, seed(clean_tables, app_engine, now=now))


@pytest.fixture(scope="session")
def users_entry() -> str:
    """A TRAIDER_DASHBOARD_USERS value with one user (hashed once per session)."""
    return f"{USER}:{auth.hash_password(PASSWORD)}"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    auth.THROTTLE.reset()
    yield
    auth.THROTTLE.reset()
