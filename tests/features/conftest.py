"""A database with real market data that passed (or failed) the quality gate, and one feature build of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from tests.features.market import ALL_WINDOWS, gate, load_all
from tests.postgres import fresh_database
from traider.config import Settings
from traider.db.engine import make_engine
from traider.db.url import libpq_dsn
from traider.features.dbt_runner import BuildResult, build_features


def feature_settings(url: URL, home: Path) -> Settings:
    """Return settings pointing TRAIDER at `url`, with its state under `home`."""
    return Settings(database_url=SecretStr(libpq_dsn(url)), home=home)


@dataclass(frozen=True)
class BuiltFeatures:
    """The database, its engines and the outcome of one full feature build."""

    url: URL
    settings: Settings
    admin: Engine
    app: Engine
    result: BuildResult


@pytest.fixture(scope="session")
def built_features(
    admin_url: str, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BuiltFeatures]:
    """Load every data set, run the gate on every window, build the features (with docs) once."""
    home = tmp_path_factory.mktemp("features-home")
    with fresh_database(admin_url) as url:
        admin, app = make_engine(url), make_engine(url, role="traider_app")
        try:
            load_all(app, shared_data)
            for number, window in enumerate(ALL_WINDOWS):
                gate(app, window, f"load-{number}", home)
            settings = feature_settings(url, home)
            result = build_features(settings, generate_docs=True)
            yield BuiltFeatures(url, settings, admin, app, result)
        finally:
            admin.dispose()
            app.dispose()
