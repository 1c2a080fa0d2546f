"""The `registry` fixture: the session's MLflow server and the application role, with helpers."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.mlflow_server import MlflowTestServer
from tests.registry.support import Registry


@pytest.fixture
def registry(mlflow_server: MlflowTestServer, app_engine: Engine, admin_engine: Engine) -> Registry:
    """The session's registry, written through the least-privilege application role."""
    return Registry(mlflow_server.client(), app_engine, admin_engine, mlflow_server)
