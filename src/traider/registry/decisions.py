"""The registry's history in PostgreSQL: `ops.model_decisions` and the audit chain, written together.

`record` appends the audit event (`model.gate`, `model.promote` or `model.rollback`, subject
`models:/<name>/<version>`) and the decision row that points at it, in the caller's transaction: both
land or neither does. `production_lineage` replays the history into the stack of versions that held
`production` — a promotion pushes, a rollback pops — which is what rollback walks back along.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, text

from traider.audit.chain import append
from traider.registry.gate import Decision

Action = Literal["gate", "promote", "rollback"]
PRODUCTION = "production"
CHALLENGER = "challenger"

_COLUMNS = (
    "id, model_name, version, action, decision, alias, previous_version, reasons, evidence, run_id, actor, "
    "audit_seq, decided_at"
)


@dataclass(frozen=True)
class DecisionRecord:
    """One decision or alias move, as written to `ops.model_decisions` (id and audit_seq once stored)."""

    model_name: str
    version: int
    action: Action
    decision: Decision
    alias: str | None
    previous_version: int | None
    reasons: tuple[str, ...]
    actor: str
    decided_at: datetime
    run_id: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    audit_seq: int | None = None

    @property
    def model_uri(self) -> str:
        """Return `models:/<name>/<version>`."""
        return f"models:/{self.model_name}/{self.version}"


def lock_model(connection: Connection, model_name: str) -> None:
    """Serialise registry changes to one model until the caller's transaction ends."""
    connection.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('traider.registry.' || :name, 0))"), {"name": model_name}
    )


def record(connection: Connection, decision: DecisionRecord) -> DecisionRecord:
    """Append the audit event and the decision row in the caller's transaction; return the stored record."""
    payload = {
        "decision": str(decision.decision),
        "alias": decision.alias,
        "previous_version": decision.previous_version,
        "reasons": list(decision.reasons),
        "evidence": dict(decision.evidence),
        "run_id": decision.run_id,
        "decided_at": decision.decided_at.isoformat(),
    }
    event = append(
        connection, actor=decision.actor, action=f"model.{decision.action}", subject=decision.model_uri, payload=payload
    )
    row_id: int = connection.execute(
        text(
            "INSERT INTO ops.model_decisions (model_name, version, action, decision, alias, previous_version, "
            "reasons, evidence, run_id, actor, audit_seq, decided_at) VALUES (:model_name, :version, :action, "
            ":decision, :alias, :previous_version, :reasons, CAST(:evidence AS jsonb), :run_id, :actor, :audit_seq, "
            ":decided_at) RETURNING id"
        ),
        {
            "model_name": decision.model_name,
            "version": decision.version,
            "action": decision.action,
            "decision": str(decision.decision),
            "alias": decision.alias,
            "previous_version": decision.previous_version,
            "reasons": list(decision.reasons),
            "evidence": json.dumps(dict(decision.evidence), sort_keys=True, default=str),
            "run_id": decision.run_id,
            "actor": decision.actor,
            "audit_seq": event.seq,
            "decided_at": decision.decided_at,
        },
    ).scalar_one()
    return replace(decision, id=int(row_id), audit_seq=event.seq)


def gate_decision(connection: Connection, model_name: str, version: int) -> DecisionRecord | None:
    """Return the gate's decision on a version, or None when it has not been gated."""
    row = connection.execute(
        text(f"SELECT {_COLUMNS} FROM ops.model_decisions WHERE model_name = :name AND version = :version "
             "AND action = 'gate'"),
        {"name": model_name, "version": version},
    ).one_or_none()  # fmt: skip
    return None if row is None else _from_row(row)


def history(connection: Connection, model_name: str, *, limit: int | None = None) -> list[DecisionRecord]:
    """Return a model's decisions, oldest first (the newest `limit` when given)."""
    query = f"SELECT {_COLUMNS} FROM ops.model_decisions WHERE model_name = :name ORDER BY id DESC"
    if limit is not None:
        query += " LIMIT :limit"
    rows = connection.execute(text(query), {"name": model_name, "limit": limit}).all()
    return [_from_row(row) for row in reversed(rows)]


def production_lineage(decisions: Iterable[DecisionRecord]) -> list[int]:
    """Return the versions that held `production`, oldest first, with rolled-back ones taken off the top."""
    lineage: list[int] = []
    for decision in decisions:
        if decision.alias != PRODUCTION:
            continue
        if decision.action == "rollback" and lineage:
            lineage.pop()
        if not lineage or lineage[-1] != decision.version:
            lineage.append(decision.version)
    return lineage


def _from_row(row: Any) -> DecisionRecord:
    reasons: Sequence[str] = row.reasons or ()
    return DecisionRecord(
        model_name=row.model_name,
        version=int(row.version),
        action=row.action,
        decision=Decision(row.decision),
        alias=row.alias,
        previous_version=row.previous_version,
        reasons=tuple(reasons),
        actor=row.actor,
        decided_at=row.decided_at,
        run_id=row.run_id,
        evidence=dict(row.evidence or {}),
        id=int(row.id),
        audit_seq=int(row.audit_seq),
    )
