"""The kill switch: one flag in the database that stops all new exposure at once, every use audited.

Engaging it (from the CLI or the dashboard) appends a row to `ops.kill_switch` and an audit event in one
transaction; the newest row is the switch's state. Workers read it on every bar: while engaged they cancel
open orders, refuse any order that adds exposure, and — when `flatten` was asked for — close their positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine

from traider.audit.chain import append
from traider.errors import TraiderError


class KillSwitchError(TraiderError):
    """A kill-switch command was incomplete (e.g. no reason given)."""


@dataclass(frozen=True)
class KillSwitchState:
    """The switch as last set: engaged or not, whether to flatten, by whom, why and when (None: never set)."""

    engaged: bool
    flatten: bool = False
    actor: str | None = None
    reason: str | None = None
    changed_at: datetime | None = None


def engage(engine: Engine, *, actor: str, reason: str, flatten: bool = False) -> KillSwitchState:
    """Engage the switch; return the new state."""
    return _set(engine, engaged=True, flatten=flatten, actor=actor, reason=reason)


def release(engine: Engine, *, actor: str, reason: str) -> KillSwitchState:
    """Release the switch so trading may resume; return the new state."""
    return _set(engine, engaged=False, flatten=False, actor=actor, reason=reason)


def current(engine: Engine) -> KillSwitchState:
    """Return the switch's state (released when it was never set)."""
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT engaged, flatten, actor, reason, changed_at FROM ops.kill_switch ORDER BY id DESC LIMIT 1")
        ).first()
    if row is None:
        return KillSwitchState(engaged=False)
    return KillSwitchState(bool(row.engaged), bool(row.flatten), row.actor, row.reason, row.changed_at)


def _set(engine: Engine, *, engaged: bool, flatten: bool, actor: str, reason: str) -> KillSwitchState:
    if not actor.strip() or not reason.strip():
        raise KillSwitchError("the kill switch needs who is using it (--actor) and why (--reason)")
    with engine.begin() as connection:
        row = connection.execute(
            text(
                "INSERT INTO ops.kill_switch (engaged, flatten, actor, reason) VALUES (:engaged, :flatten, :actor, "
                ":reason) RETURNING changed_at"
            ),
            {"engaged": engaged, "flatten": flatten, "actor": actor, "reason": reason},
        ).one()
        append(
            connection,
            actor=actor,
            action="kill_switch.engage" if engaged else "kill_switch.release",
            subject="kill_switch",
            payload={"flatten": flatten, "reason": reason},
        )
    return KillSwitchState(engaged, flatten, actor, reason, row.changed_at)
