"""Worker state and the kill switch.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

`trading.worker_state` holds, per mode, venue and symbol, the last bar a worker finished and the target it
traded, so a restarted worker resumes exactly there (earlier bars only warm its strategy up). `ops.kill_switch`
is the history of the kill switch: every engage and release with who did it, why, and whether positions are to
be flattened; the newest row is the switch's state. It is append-only for the application role.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STATEMENTS = (
    """
    CREATE TABLE trading.worker_state (
        mode text NOT NULL CHECK (mode IN ('paper', 'live', 'backtest')),
        venue text NOT NULL,
        symbol text NOT NULL,
        last_bar timestamptz NOT NULL,
        target double precision NOT NULL CONSTRAINT worker_state_target_bounded CHECK (target BETWEEN -1 AND 1),
        model_version text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mode, venue, symbol)
    )
    """,
    """
    CREATE TABLE ops.kill_switch (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        engaged boolean NOT NULL,
        flatten boolean NOT NULL DEFAULT false,
        actor text NOT NULL CONSTRAINT kill_switch_actor_given CHECK (actor <> ''),
        reason text NOT NULL CONSTRAINT kill_switch_reason_given CHECK (reason <> ''),
        changed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "REVOKE UPDATE, DELETE, TRUNCATE ON ops.kill_switch FROM traider_app",
    "GRANT SELECT, INSERT ON ops.kill_switch TO traider_app",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ops.kill_switch")
    op.execute("DROP TABLE IF EXISTS trading.worker_state")
