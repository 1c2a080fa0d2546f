from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from traider.db.engine import make_engine
from traider.errors import ConfigurationError


def test_engine_with_role_runs_every_connection_as_that_role(database_url: URL) -> None:
    engine = make_engine(database_url, role="traider_app")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar_one() == "traider_app"
    engine.dispose()


def test_engine_with_unknown_role_raises_one_line_configuration_error(database_url: URL) -> None:
    engine = make_engine(database_url, role="traider_no_such_role")
    with pytest.raises(ConfigurationError) as caught, engine.connect():
        pass
    assert "TRAIDER_DATABASE_APP_ROLE" in str(caught.value)
    assert "traider_no_such_role" in str(caught.value)
    engine.dispose()
