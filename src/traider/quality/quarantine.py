"""Keep rejected records in `ops.quarantine` with their source and reason, never losing one."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, text

from traider.marketdata.records import Rejection

_INSERT = text(
    "INSERT INTO ops.quarantine (source, table_name, reason, record) "
    "VALUES (:source, :table_name, :reason, CAST(:record AS jsonb)) "
    "ON CONFLICT ON CONSTRAINT quarantine_once_per_reason DO NOTHING"
)


def quarantine(connection: Connection, rejections: Sequence[Rejection]) -> int:
    """Store `rejections` in the caller's transaction; the same record and reason is kept once.

    Return how many rejections were accounted for (all of them: stored now or stored before).
    """
    if not rejections:
        return 0
    connection.execute(
        _INSERT,
        [
            {
                "source": rejection.source or "unknown",
                "table_name": rejection.stream.table,
                "reason": rejection.reason,
                "record": json.dumps(dict(rejection.record), sort_keys=True, default=str),
            }
            for rejection in rejections
        ],
    )
    return len(rejections)
