"""ops.model_decisions and the audit chain: written together, append-only for the application, replayed by rollback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tests.postgres import connect
from traider.registry.decisions import DecisionRecord, history, production_lineage, record
from traider.registry.gate import Decision

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _decision(name: str, version: int, **overrides: object) -> DecisionRecord:
    values: dict[str, object] = {
        "model_name": name, "version": version, "action": "gate", "decision": Decision.PROMOTE,
        "alias": "production", "previous_version": None, "reasons": ("oos_sharpe 2 >= 1.5",),
        "actor": "traider-gate", "decided_at": NOW,
    }  # fmt: skip
    values.update(overrides)
    return DecisionRecord(**values)  # type: ignore[arg-type]


def _audit_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM audit.events")).scalar_one())


def test_record_writes_the_row_and_its_audit_event_as_the_application_role(app_engine: Engine) -> None:
    name = f"decisions_{uuid.uuid4().hex[:8]}"
    with app_engine.begin() as connection:
        stored = record(connection, _decision(name, 1, evidence={"oos_sharpe": 2.0}))
    with app_engine.connect() as connection:
        [again] = history(connection, name)
        event = connection.execute(text("SELECT * FROM audit.events WHERE seq = :seq"), {"seq": stored.audit_seq}).one()
    assert again == stored
    assert (event.action, event.subject, event.payload["reasons"]) == (
        "model.gate",
        f"models:/{name}/1",
        list(stored.reasons),
    )


def test_record_is_all_or_nothing(app_engine: Engine) -> None:
    name = f"decisions_{uuid.uuid4().hex[:8]}"
    before = _audit_count(app_engine)
    with pytest.raises(sqlalchemy.exc.IntegrityError), app_engine.begin() as connection:
        record(connection, _decision(name, 1, alias=None))  # promote without the production alias: CHECK fails
    assert _audit_count(app_engine) == before
    with app_engine.connect() as connection:
        assert history(connection, name) == []


def test_a_version_is_gated_only_once(app_engine: Engine) -> None:
    name = f"decisions_{uuid.uuid4().hex[:8]}"
    with app_engine.begin() as connection:
        record(connection, _decision(name, 1))
    with pytest.raises(sqlalchemy.exc.IntegrityError), app_engine.begin() as connection:
        record(connection, _decision(name, 1, decision=Decision.REJECT, alias=None))


@pytest.mark.parametrize(
    "statement", ["UPDATE ops.model_decisions SET actor = 'mallory'", "DELETE FROM ops.model_decisions"]
)
def test_application_role_cannot_rewrite_the_history(database_url: URL, statement: str) -> None:
    with connect(database_url, role="traider_app") as connection, pytest.raises(psycopg.errors.InsufficientPrivilege):
        connection.execute(statement)


def test_production_lineage_pushes_promotions_and_pops_rollbacks() -> None:
    name = "lineage"
    decisions = [
        _decision(name, 1),
        _decision(name, 2, decision=Decision.CHALLENGER, alias="challenger"),
        _decision(name, 3, decision=Decision.REJECT, alias=None),
        _decision(name, 2, action="promote", previous_version=1),
        _decision(name, 4, previous_version=2),
        _decision(name, 2, action="rollback", previous_version=4),
    ]
    assert production_lineage(decisions) == [1, 2]
    assert production_lineage([*decisions, _decision(name, 1, action="rollback", previous_version=2)]) == [1]
    assert production_lineage([]) == []
