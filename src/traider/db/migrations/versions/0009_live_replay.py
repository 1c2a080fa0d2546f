"""Nightly live-replay results: yesterday's trading replayed through the backtester and compared.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24

One row per worker and day: the model version it traded, its P&L against the replay's, the relative P&L
deviation, its drawdown, how many decisions and fills agreed, and what was done about it (`none`, or
`rollback` of the model's `production` alias, with the reasons). Re-running a day updates its row; a
rollback is recorded once.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATEMENTS = (
    """
    CREATE TABLE ops.live_replays (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        day date NOT NULL,
        component text NOT NULL,
        model_name text,
        model_version text,
        live_pnl double precision NOT NULL,
        replay_pnl double precision NOT NULL,
        pnl_deviation double precision NOT NULL CONSTRAINT live_replays_deviation_non_negative
            CHECK (pnl_deviation >= 0),
        live_drawdown double precision NOT NULL,
        live_orders integer NOT NULL,
        replay_orders integer NOT NULL,
        matched_orders integer NOT NULL,
        fill_price_deviation_bps double precision,
        action text NOT NULL CONSTRAINT live_replays_action_known CHECK (action IN ('none', 'rollback', 'alert')),
        reasons text[] NOT NULL DEFAULT '{}',
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        replayed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT live_replays_one_per_day UNIQUE (component, day)
    )
    """,
    "GRANT SELECT, INSERT, UPDATE ON ops.live_replays TO traider_app",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ops.live_replays")
