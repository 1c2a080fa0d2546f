"""Registry operations on MLflow aliases: apply the gate to a version, promote by hand, roll back.

Each operation runs in one PostgreSQL transaction that holds an advisory lock on the model: it reads
the aliases, decides, writes `ops.model_decisions` and the audit event, then moves the MLflow aliases
and sets the version tags. If anything fails — an MLflow call or the commit — the MLflow changes made so
far are undone and the transaction rolls back, so the registry and the history never disagree.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from traider.registry import decisions
from traider.registry.decisions import CHALLENGER, PRODUCTION, DecisionRecord
from traider.registry.errors import HistoryMismatchError, NoPreviousChampionError, RegistryError
from traider.registry.evaluation import ChampionEvaluator
from traider.registry.gate import ChampionResult, Decision, Evidence, decide
from traider.registry.versions import DECISION_TAG, Candidate, aliases, model_version, read_candidate

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from sqlalchemy import Connection, Engine

GATE_ACTOR = "traider-gate"
_ALIAS_OF = {Decision.PROMOTE: PRODUCTION, Decision.CHALLENGER: CHALLENGER, Decision.REJECT: None}
_log = logging.getLogger(__name__)


def apply_gate(
    client: MlflowClient,
    engine: Engine,
    name: str,
    version: str,
    evaluator: ChampionEvaluator,
    *,
    actor: str = GATE_ACTOR,
) -> DecisionRecord:
    """Gate one version: decide, record, move the alias (`production` or `challenger`) and tag the version.

    A version is gated once: if it already was, the stored decision is returned and nothing changes.
    """
    with _registry_transaction(client, engine, name) as (connection, changes):
        existing = decisions.gate_decision(connection, name, int(version))
        if existing is not None:
            return existing
        candidate = read_candidate(client, name, version)
        current_aliases = aliases(client, name)
        verdict = decide(candidate.evidence, candidate.thresholds, None, problems=candidate.problems)
        champion_version = current_aliases.get(PRODUCTION)
        champion: ChampionResult | None = None
        if verdict.decision is not Decision.REJECT and champion_version not in (None, version):
            champion = _evaluate_champion(evaluator, name, str(champion_version), candidate.evidence)
            verdict = decide(candidate.evidence, candidate.thresholds, champion, problems=candidate.problems)
        alias = _ALIAS_OF[verdict.decision]
        stored = decisions.record(
            connection,
            DecisionRecord(
                model_name=name,
                version=int(version),
                action="gate",
                decision=verdict.decision,
                alias=alias,
                previous_version=_version_number(current_aliases.get(alias)) if alias else None,
                reasons=verdict.reasons,
                actor=actor,
                decided_at=datetime.now(UTC),
                run_id=candidate.run_id,
                evidence=_evidence_json(candidate, champion),
            ),
        )
        if alias is not None and current_aliases.get(alias) != version and current_aliases.get(PRODUCTION) != version:
            changes.set_alias(alias, version)
        tags = {
            DECISION_TAG: str(verdict.decision),
            "gate.reasons": "\n".join(verdict.reasons),
            "gate.decided_at": stored.decided_at.isoformat(),
        }
        if verdict.decision is Decision.PROMOTE and champion_version is not None:
            tags["gate.previous_champion"] = str(champion_version)
        changes.set_tags(version, tags)
        return stored


def promote(
    client: MlflowClient, engine: Engine, name: str, version: str, *, reason: str, actor: str, force: bool = False
) -> DecisionRecord:
    """Give `version` the alias `production` by hand; without `force` only a version the gate passed."""
    reason = _required_reason(reason)
    with _registry_transaction(client, engine, name) as (connection, changes):
        current_aliases = aliases(client, name)
        found = model_version(client, name, version)
        if current_aliases.get(PRODUCTION) == version:
            raise RegistryError(f"version {version} of {name} already holds production; nothing to do")
        gate = found.tags.get(DECISION_TAG)
        overrides_gate = gate not in (Decision.PROMOTE, Decision.CHALLENGER)
        if overrides_gate and not force:
            verdict = "was rejected by the gate" if gate == Decision.REJECT else "has not been through the gate"
            raise RegistryError(f"version {version} of {name} {verdict}; pass --force to promote it anyway")
        previous = current_aliases.get(PRODUCTION)
        reasons = (
            f"promoted by hand by {actor}: {reason}",
            f"gate decision: {gate or 'none'}" + (" (overridden with --force)" if overrides_gate else ""),
        )
        stored = _record_move(connection, "promote", name, version, previous, reasons, actor, found.run_id)
        _move_production(changes, current_aliases, version, stored)
        return stored


def rollback(client: MlflowClient, engine: Engine, name: str, *, reason: str, actor: str) -> DecisionRecord:
    """Move `production` back to the version that held it before the current one (from ops.model_decisions)."""
    reason = _required_reason(reason)
    with _registry_transaction(client, engine, name) as (connection, changes):
        current_aliases = aliases(client, name)
        current = current_aliases.get(PRODUCTION)
        if current is None:
            raise NoPreviousChampionError(f"{name} has no version in production; there is nothing to roll back")
        lineage = decisions.production_lineage(decisions.history(connection, name))
        if not lineage or lineage[-1] != int(current):
            recorded = f"version {lineage[-1]}" if lineage else "no version"
            raise HistoryMismatchError(
                f"{name}'s production alias is on version {current} but ops.model_decisions records {recorded}: it "
                "was moved outside TRAIDER; set it with `traider model promote`"
            )
        if len(lineage) < 2:
            raise NoPreviousChampionError(
                f"{name} has no previous champion to roll back to: version {current} is the first in production"
            )
        target = str(lineage[-2])
        model_version(client, name, target)
        reasons = (f"rolled back by {actor}: {reason}", f"production moves from v{current} back to v{target}")
        stored = _record_move(connection, "rollback", name, target, current, reasons, actor, None)
        _move_production(changes, current_aliases, target, stored)
        return stored


class _RegistryChanges:
    """MLflow alias and tag changes, each with its undo, applied inside a decision's transaction."""

    def __init__(self, client: MlflowClient, name: str) -> None:
        self.client, self.name = client, name
        self._undo: list[Callable[[], None]] = []

    def set_alias(self, alias: str, version: str) -> None:
        before = aliases(self.client, self.name).get(alias)
        self.client.set_registered_model_alias(self.name, alias, version)
        self._undo.append(partial(self._restore_alias, alias, before))

    def delete_alias(self, alias: str) -> None:
        before = aliases(self.client, self.name).get(alias)
        if before is None:
            return
        self.client.delete_registered_model_alias(self.name, alias)
        self._undo.append(partial(self._restore_alias, alias, before))

    def set_tags(self, version: str, tags: Mapping[str, str]) -> None:
        before = dict(self.client.get_model_version(self.name, version).tags)
        for key, value in tags.items():
            self._undo.append(partial(self._restore_tag, version, key, before.get(key)))
            self.client.set_model_version_tag(self.name, version, key, value)

    def undo(self) -> None:
        for step in reversed(self._undo):
            try:
                step()
            except Exception:
                _log.exception("could not undo a registry change of %s; check its aliases and tags", self.name)
        self._undo.clear()

    def _restore_alias(self, alias: str, version: str | None) -> None:
        if version is None:
            self.client.delete_registered_model_alias(self.name, alias)
        else:
            self.client.set_registered_model_alias(self.name, alias, version)

    def _restore_tag(self, version: str, key: str, value: str | None) -> None:
        if value is None:
            self.client.delete_model_version_tag(self.name, version, key)
        else:
            self.client.set_model_version_tag(self.name, version, key, value)


@contextmanager
def _registry_transaction(
    client: MlflowClient, engine: Engine, name: str
) -> Iterator[tuple[Connection, _RegistryChanges]]:
    changes = _RegistryChanges(client, name)
    try:
        with engine.begin() as connection:
            decisions.lock_model(connection, name)
            yield connection, changes
    except BaseException:
        changes.undo()
        raise


def _record_move(
    connection: Connection,
    action: decisions.Action,
    name: str,
    version: str,
    previous: str | None,
    reasons: tuple[str, ...],
    actor: str,
    run_id: str | None,
) -> DecisionRecord:
    return decisions.record(
        connection,
        DecisionRecord(
            model_name=name,
            version=int(version),
            action=action,
            decision=Decision.PROMOTE,
            alias=PRODUCTION,
            previous_version=_version_number(previous),
            reasons=reasons,
            actor=actor,
            decided_at=datetime.now(UTC),
            run_id=run_id,
        ),
    )


def _move_production(
    changes: _RegistryChanges, current_aliases: Mapping[str, str], version: str, stored: DecisionRecord
) -> None:
    changes.set_alias(PRODUCTION, version)
    if current_aliases.get(CHALLENGER) == version:
        changes.delete_alias(CHALLENGER)  # a champion is no longer its own challenger
    changes.set_tags(
        version,
        {
            "registry.action": stored.action,
            "registry.actor": stored.actor,
            "registry.reason": stored.reasons[0],
            "registry.at": stored.decided_at.isoformat(),
        },
    )


def _evaluate_champion(evaluator: ChampionEvaluator, name: str, version: str, evidence: Evidence) -> ChampionResult:
    window = evidence.window
    if window is None:
        return ChampionResult(version, problem="the candidate records no out-of-sample window")
    try:
        sharpe = evaluator.evaluate(f"models:/{name}/{version}", window[0], window[1])
    except Exception as error:
        _log.warning("champion %s v%s not evaluated: %s", name, version, error)
        return ChampionResult(
            version, problem=str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        )
    return ChampionResult(version, sharpe=float(sharpe))


def _evidence_json(candidate: Candidate, champion: ChampionResult | None) -> dict[str, Any]:
    evidence = candidate.evidence
    return {
        "oos_sharpe": evidence.oos_sharpe,
        "oos_max_drawdown": evidence.oos_max_drawdown,
        "dsr_probability": evidence.dsr_probability,
        "lookahead_clean": evidence.lookahead_clean,
        "oos_start": evidence.oos_start.isoformat() if evidence.oos_start else None,
        "oos_end": evidence.oos_end.isoformat() if evidence.oos_end else None,
        "thresholds": {
            "min_sharpe": candidate.thresholds.min_sharpe,
            "max_drawdown": candidate.thresholds.max_drawdown,
            "min_dsr_probability": candidate.thresholds.min_dsr_probability,
        },
        "champion": None
        if champion is None
        else {
            "version": champion.version,
            "sharpe": champion.sharpe if champion.sharpe is not None and math.isfinite(champion.sharpe) else None,
            "problem": champion.problem,
        },
    }


def _version_number(version: str | None) -> int | None:
    return None if version is None else int(version)


def _required_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise RegistryError("give a --reason: it is recorded with the change")
    return reason
