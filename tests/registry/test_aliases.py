"""Gate, promote and rollback against a real MLflow server and PostgreSQL: aliases, tags, ops rows, audit."""

from __future__ import annotations

from datetime import datetime

import pytest
from mlflow import MlflowClient

from tests.registry.support import OTHER_WINDOW, Registry
from traider.audit.chain import verify
from traider.registry.aliases import GATE_ACTOR, apply_gate, promote, rollback
from traider.registry.decisions import DecisionRecord
from traider.registry.errors import HistoryMismatchError, NoPreviousChampionError, RegistryError
from traider.registry.evaluation import RunMetricEvaluator


class FixedSharpeEvaluator:
    """Test double of the training side's evaluator: the champion scores a fixed Sharpe on any window."""

    def __init__(self, sharpe: float) -> None:
        self.sharpe = sharpe
        self.calls: list[tuple[str, datetime, datetime]] = []

    def evaluate(self, model_uri: str, start: datetime, end: datetime) -> float:
        self.calls.append((model_uri, start, end))
        return self.sharpe


class TagFailingClient(MlflowClient):
    """Test double: a real client whose version-tag writes fail, to show the alias move is undone."""

    def set_model_version_tag(self, *arguments: object, **keywords: object) -> None:
        raise RuntimeError("tag store unavailable")


def _gate(registry: Registry, name: str, version: str) -> DecisionRecord:
    return apply_gate(registry.client, registry.engine, name, version, RunMetricEvaluator(registry.client))


def test_apply_gate_first_passing_version_takes_production_with_tags_ops_row_and_audit_event(
    registry: Registry,
) -> None:
    name = registry.new_model()
    version = registry.add_version(name, sharpe=1.9, drawdown=0.03, dsr=0.98)

    stored = apply_gate(registry.client, registry.engine, name, version, RunMetricEvaluator(registry.client))

    assert registry.aliases(name) == {"production": version}
    tags = registry.tags(name, version)
    assert tags["gate.decision"] == "promote"
    assert tags["gate.reasons"].splitlines() == list(stored.reasons)
    assert "oos_sharpe 1.9 >= 1.5" in stored.reasons
    assert datetime.fromisoformat(tags["gate.decided_at"]) == stored.decided_at
    [row] = registry.decisions(name)
    assert (row.action, row.decision, row.alias, row.previous_version, row.actor) == (
        "gate", "promote", "production", None, GATE_ACTOR,
    )  # fmt: skip
    assert row.evidence["oos_sharpe"] == 1.9 and row.evidence["thresholds"]["min_sharpe"] == 1.5
    event = registry.audit_event(row.audit_seq)
    assert (event.action, event.subject, event.actor) == ("model.gate", f"models:/{name}/{version}", GATE_ACTOR)
    assert event.payload["decision"] == "promote" and event.payload["reasons"] == list(stored.reasons)
    with registry.admin_engine.connect() as connection:
        assert verify(connection).ok


def test_apply_gate_better_candidate_on_the_same_window_replaces_the_champion(registry: Registry) -> None:
    name = registry.new_model()
    first = registry.add_version(name, sharpe=1.7)
    second = registry.add_version(name, sharpe=2.2)
    _gate(registry, name, first)

    stored = _gate(registry, name, second)

    assert registry.aliases(name) == {"production": second}
    assert registry.tags(name, second)["gate.previous_champion"] == first
    assert registry.decisions(name)[-1].previous_version == int(first)
    assert any(line.startswith(f"oos_sharpe 2.2 > champion v{first}'s 1.7") for line in stored.reasons)


def test_apply_gate_passing_but_not_better_candidate_becomes_challenger(registry: Registry) -> None:
    name = registry.new_model()
    champion = registry.add_version(name, sharpe=2.5)
    candidate = registry.add_version(name, sharpe=1.8)
    _gate(registry, name, champion)

    _gate(registry, name, candidate)

    assert registry.aliases(name) == {"production": champion, "challenger": candidate}
    row = registry.decisions(name)[-1]
    assert (row.decision, row.alias) == ("challenger", "challenger")
    assert any(line.startswith(f"oos_sharpe 1.8 <= champion v{champion}'s 2.5") for line in row.reasons)


def test_apply_gate_champion_on_another_window_cannot_be_compared_so_candidate_is_challenger(
    registry: Registry,
) -> None:
    name = registry.new_model()
    champion = registry.add_version(name, sharpe=1.6, window=OTHER_WINDOW)
    candidate = registry.add_version(name, sharpe=3.0)
    _gate(registry, name, champion)

    _gate(registry, name, candidate)

    assert registry.aliases(name) == {"production": champion, "challenger": candidate}
    assert "could not be evaluated" in registry.tags(name, candidate)["gate.reasons"]


def test_apply_gate_asks_the_injected_evaluator_for_the_champions_sharpe_on_the_candidates_window(
    registry: Registry,
) -> None:
    name = registry.new_model()
    champion = registry.add_version(name, sharpe=1.6, window=OTHER_WINDOW)
    candidate = registry.add_version(name, sharpe=1.9)
    _gate(registry, name, champion)
    evaluator = FixedSharpeEvaluator(1.2)

    apply_gate(registry.client, registry.engine, name, candidate, evaluator)

    [(uri, start, end)] = evaluator.calls
    assert uri == f"models:/{name}/{champion}"
    assert (start, end) == (datetime.fromisoformat("2024-01-01T00:00:00+00:00"), datetime.fromisoformat("2024-03-01T00:00:00+00:00"))  # fmt: skip
    assert registry.aliases(name) == {"production": candidate}


def test_apply_gate_failing_version_is_rejected_with_reasons_and_no_alias(registry: Registry) -> None:
    name = registry.new_model()
    version = registry.add_version(name, sharpe=0.42, drawdown=0.12, lookahead="false")

    _gate(registry, name, version)

    assert registry.aliases(name) == {}
    reasons = registry.tags(name, version)["gate.reasons"].splitlines()
    assert {"oos_sharpe 0.42 < 1.5", "oos_max_drawdown 0.12 > 0.05"} <= set(reasons)
    assert "lookahead check found look-ahead (lookahead_clean=false)" in reasons
    [row] = registry.decisions(name)
    assert (row.decision, row.alias) == ("reject", None)


def test_apply_gate_reads_the_specs_thresholds_from_the_run(registry: Registry) -> None:
    name = registry.new_model()
    version = registry.add_version(name, sharpe=1.8, tags={"gate.min_sharpe": "2.0"})

    _gate(registry, name, version)

    assert registry.tags(name, version)["gate.decision"] == "reject"
    assert "oos_sharpe 1.8 < 2" in registry.tags(name, version)["gate.reasons"]


def test_apply_gate_twice_decides_once(registry: Registry) -> None:
    name = registry.new_model()
    version = registry.add_version(name, sharpe=1.9)

    first = _gate(registry, name, version)
    second = _gate(registry, name, version)

    assert first == second
    assert len(registry.decisions(name)) == 1


def test_apply_gate_failure_after_the_alias_move_undoes_it_and_writes_nothing(registry: Registry) -> None:
    name = registry.new_model()
    champion = registry.add_version(name, sharpe=1.6)
    candidate = registry.add_version(name, sharpe=2.0)
    _gate(registry, name, champion)
    failing = TagFailingClient(registry.server.tracking_uri, registry.server.tracking_uri)

    with pytest.raises(RuntimeError, match="tag store unavailable"):
        apply_gate(failing, registry.engine, name, candidate, RunMetricEvaluator(failing))

    assert registry.aliases(name) == {"production": champion}
    assert "gate.decision" not in registry.tags(name, candidate)
    assert len(registry.decisions(name)) == 1


def test_rollback_restores_the_previous_champion_and_records_actor_and_reason(registry: Registry) -> None:
    name = registry.new_model()
    first = registry.add_version(name, sharpe=1.7)
    second = registry.add_version(name, sharpe=2.1)
    _gate(registry, name, first)
    _gate(registry, name, second)

    stored = rollback(registry.client, registry.engine, name, reason="live drawdown beyond 3%", actor="alice")

    assert registry.aliases(name) == {"production": first}
    row = registry.decisions(name)[-1]
    assert (row.action, row.version, row.previous_version, row.actor) == ("rollback", int(first), int(second), "alice")
    assert row.reasons[0] == "rolled back by alice: live drawdown beyond 3%"
    event = registry.audit_event(stored.audit_seq or 0)
    assert (event.action, event.actor, event.subject) == ("model.rollback", "alice", f"models:/{name}/{first}")
    assert registry.tags(name, first)["registry.actor"] == "alice"

    with pytest.raises(NoPreviousChampionError, match=f"version {first} is the first in production"):
        rollback(registry.client, registry.engine, name, reason="again", actor="alice")


def test_rollback_walks_back_through_several_champions(registry: Registry) -> None:
    name = registry.new_model()
    versions = [registry.add_version(name, sharpe=sharpe) for sharpe in (1.6, 1.9, 2.3)]
    for version in versions:
        _gate(registry, name, version)

    rollback(registry.client, registry.engine, name, reason="first", actor="bob")
    rollback(registry.client, registry.engine, name, reason="second", actor="bob")

    assert registry.aliases(name) == {"production": versions[0]}


def test_rollback_without_a_champion_fails_with_one_line(registry: Registry) -> None:
    name = registry.new_model()
    registry.add_version(name, sharpe=0.3)

    with pytest.raises(NoPreviousChampionError) as raised:
        rollback(registry.client, registry.engine, name, reason="panic", actor="carol")

    assert str(raised.value) == f"{name} has no version in production; there is nothing to roll back"
    assert registry.decisions(name) == []


def test_rollback_refuses_when_production_was_moved_outside_traider(registry: Registry) -> None:
    name = registry.new_model()
    first = registry.add_version(name, sharpe=1.7)
    other = registry.add_version(name, sharpe=0.1)
    _gate(registry, name, first)
    registry.client.set_registered_model_alias(name, "production", other)

    with pytest.raises(HistoryMismatchError, match="moved outside TRAIDER"):
        rollback(registry.client, registry.engine, name, reason="x", actor="dave")


def test_promote_by_hand_moves_production_and_drops_the_challenger_alias(registry: Registry) -> None:
    name = registry.new_model()
    champion = registry.add_version(name, sharpe=2.5)
    challenger = registry.add_version(name, sharpe=1.8)
    _gate(registry, name, champion)
    _gate(registry, name, challenger)

    stored = promote(registry.client, registry.engine, name, challenger, reason="regime change", actor="erin")

    assert registry.aliases(name) == {"production": challenger}
    assert (stored.action, stored.previous_version, stored.actor) == ("promote", int(champion), "erin")
    assert stored.reasons[0] == "promoted by hand by erin: regime change"
    rollback(registry.client, registry.engine, name, reason="undo", actor="erin")
    assert registry.aliases(name) == {"production": champion}


def test_promote_a_rejected_version_needs_force(registry: Registry) -> None:
    name = registry.new_model()
    rejected = registry.add_version(name, sharpe=0.2)
    _gate(registry, name, rejected)

    with pytest.raises(RegistryError, match="was rejected by the gate; pass --force"):
        promote(registry.client, registry.engine, name, rejected, reason="trust me", actor="frank")
    assert registry.aliases(name) == {}

    stored = promote(registry.client, registry.engine, name, rejected, reason="trust me", actor="frank", force=True)
    assert registry.aliases(name) == {"production": rejected}
    assert "gate decision: reject (overridden with --force)" in stored.reasons


@pytest.mark.parametrize(
    ("model", "version", "message"), [("missing", "1", "there is no registered model"), ("", "7", "has no version 7")]
)
def test_promote_unknown_model_or_version_is_a_one_line_error(
    registry: Registry, model: str, version: str, message: str
) -> None:
    name = model or registry.new_model()
    with pytest.raises(RegistryError, match=message):
        promote(registry.client, registry.engine, name, version, reason="x", actor="gina", force=True)
