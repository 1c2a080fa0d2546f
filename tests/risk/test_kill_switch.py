from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from traider.risk.kill_switch import KillSwitchError, current, engage, release


def test_the_switch_is_released_until_engaged_and_every_use_is_audited(
    clean_tables: Engine, app_engine: Engine, admin_engine: Engine
) -> None:
    assert not current(app_engine).engaged
    engage(app_engine, actor="alice", reason="exchange incident", flatten=True)
    state = current(app_engine)
    assert (state.engaged, state.flatten, state.actor, state.reason) == (True, True, "alice", "exchange incident")
    release(app_engine, actor="bob", reason="incident over")
    assert not current(app_engine).engaged
    with admin_engine.connect() as connection:
        actions = connection.execute(
            text("SELECT action, actor FROM audit.events WHERE subject = 'kill_switch' ORDER BY seq DESC LIMIT 2")
        ).all()
    assert [tuple(row) for row in actions] == [("kill_switch.release", "bob"), ("kill_switch.engage", "alice")]


def test_the_switch_needs_an_actor_and_a_reason(clean_tables: Engine, app_engine: Engine) -> None:
    with pytest.raises(KillSwitchError, match="--reason"):
        engage(app_engine, actor="alice", reason=" ")


def test_the_application_role_cannot_rewrite_the_history(clean_tables: Engine, app_engine: Engine) -> None:
    from sqlalchemy.exc import ProgrammingError

    engage(app_engine, actor="alice", reason="test")
    with pytest.raises(ProgrammingError, match="permission denied"), app_engine.begin() as connection:
        connection.execute(text("UPDATE ops.kill_switch SET engaged = false"))
