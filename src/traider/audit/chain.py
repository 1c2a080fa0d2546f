"""Append to and verify the hash-chained audit log in `audit.events`.

The database's insert trigger assigns each row its position (`seq`), time, the previous row's
hash and its own hash, computed as SHA-256 over `canonical_content`; `audit.append_batch` does the
same for many events in one call. `verify` recomputes every hash here, independently of the
database's functions, and reports the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

GENESIS_HASH = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AuditEvent:
    """An event as stored: its place in the chain and its hash."""

    seq: int
    recorded_at: datetime
    row_hash: str


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain does not verify."""

    seq: int
    reason: str


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of walking the chain."""

    rows_checked: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        """Return True when every link verified."""
        return self.first_break is None


def netstring(value: str) -> str:
    """Encode `value` as `<length>:<value>;`, so concatenated fields cannot be confused."""
    return f"{len(value)}:{value};"


def epoch_microseconds(moment: datetime) -> int:
    """Return `moment` as whole microseconds since the Unix epoch."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def canonical_content(
    *,
    seq: int,
    recorded_at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload_text: str,
    prev_hash: str,
) -> str:
    """Return the canonical text a row's hash covers (the same rule as `audit.canonical_content`)."""
    fields = (str(seq), str(epoch_microseconds(recorded_at)), actor, action, subject, payload_text, prev_hash)
    return "".join(netstring(field) for field in fields)


def content_hash(content: str) -> str:
    """Return the hex SHA-256 of canonical content."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def append(
    connection: Connection,
    *,
    actor: str,
    action: str,
    subject: str = "",
    payload: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction and return where it landed in the chain."""
    row = connection.execute(
        text(
            "INSERT INTO audit.events (actor, action, subject, payload) "
            "VALUES (:actor, :action, :subject, CAST(:payload AS jsonb)) "
            "RETURNING seq, recorded_at, row_hash"
        ),
        {
            "actor": actor,
            "action": action,
            "subject": subject,
            "payload": json.dumps(dict(payload or {}), sort_keys=True, default=str),
        },
    ).one()
    return AuditEvent(seq=row.seq, recorded_at=row.recorded_at, row_hash=row.row_hash)


def append_batch(
    connection: Connection, *, actor: str, events: Sequence[tuple[str, str, Mapping[str, Any] | None]]
) -> int | None:
    """Append (action, subject, payload) events in order in the caller's transaction; return the last `seq`.

    One call to `audit.append_batch`: the chain is extended under one lock, exactly as appending the events
    one at a time would. Returns None (and appends nothing) when `events` is empty.
    """
    if not events:
        return None
    # psycopg placeholders: the arrays travel in binary format (as text, quoting JSON is slow)
    last: int = connection.exec_driver_sql(
        "SELECT audit.append_batch(%(actor)b::text, %(actions)b::text[], %(subjects)b::text[], "
        "%(payloads)b::text[]::jsonb[])",
        {
            "actor": actor,
            "actions": [action for action, _, _ in events],
            "subjects": [subject for _, subject, _ in events],
            "payloads": [json.dumps(dict(payload or {}), sort_keys=True, default=str) for _, _, payload in events],
        },
    ).scalar_one()
    return int(last)


def verify(connection: Connection, *, batch_rows: int = 10_000) -> VerifyReport:
    """Walk the whole chain in order and return the first broken link, if any."""
    result = connection.execution_options(stream_results=True, yield_per=batch_rows).execute(
        text(
            "SELECT seq, recorded_at, actor, action, subject, payload::text AS payload_text, prev_hash, row_hash "
            "FROM audit.events ORDER BY seq"
        )
    )
    return verify_rows(result)


def verify_rows(rows: Iterable[Any]) -> VerifyReport:
    """Check rows (in `seq` order) link to each other and match their hashes."""
    expected_seq = 1
    previous_hash = GENESIS_HASH
    checked = 0
    for row in rows:
        problem = _link_problem(row, expected_seq, previous_hash)
        if problem is not None:
            return VerifyReport(rows_checked=checked, first_break=ChainBreak(seq=row.seq, reason=problem))
        checked += 1
        expected_seq = row.seq + 1
        previous_hash = row.row_hash
    return VerifyReport(rows_checked=checked, first_break=None)


def _link_problem(row: Any, expected_seq: int, previous_hash: str) -> str | None:
    if row.seq != expected_seq:
        return f"expected seq {expected_seq} but found {row.seq}: rows were deleted"
    if row.prev_hash != previous_hash:
        return "prev_hash does not match the hash of the row before: a row before it was removed or rewritten"
    content = canonical_content(
        seq=row.seq,
        recorded_at=row.recorded_at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        payload_text=row.payload_text,
        prev_hash=row.prev_hash,
    )
    if content_hash(content) != row.row_hash:
        return "content does not match its hash: the row was edited"
    return None
