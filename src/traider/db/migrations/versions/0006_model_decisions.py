"""Model registry decisions: every gate verdict and every move of a registry alias.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

One row per gate decision (`action = 'gate'`: promote, challenger or reject), manual promotion
(`'promote'`) and rollback (`'rollback'`), with the alias the version took, the version that held it
before, the reasons (one line each), the evidence, who did it and the audit event that records the same.
Rollback walks this history, so it is append-only for the application role: INSERT and SELECT only.
A version is gated once.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STATEMENTS = (
    """
    CREATE TABLE ops.model_decisions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model_name text NOT NULL CONSTRAINT model_decisions_name_given CHECK (model_name <> ''),
        version integer NOT NULL CONSTRAINT model_decisions_version_positive CHECK (version > 0),
        action text NOT NULL CONSTRAINT model_decisions_action_known CHECK (action IN ('gate', 'promote', 'rollback')),
        decision text NOT NULL
            CONSTRAINT model_decisions_decision_known CHECK (decision IN ('promote', 'challenger', 'reject')),
        alias text CONSTRAINT model_decisions_alias_known CHECK (alias IN ('production', 'challenger')),
        previous_version integer,
        reasons text[] NOT NULL,
        evidence jsonb NOT NULL DEFAULT '{}'::jsonb,
        run_id text,
        actor text NOT NULL CONSTRAINT model_decisions_actor_given CHECK (actor <> ''),
        audit_seq bigint NOT NULL,  -- the audit event recording it; no foreign key, so audit.events keeps
                                    -- rejecting TRUNCATE by its own trigger
        decided_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT model_decisions_alias_follows_decision CHECK (
            alias IS NOT DISTINCT FROM CASE decision WHEN 'promote' THEN 'production' WHEN 'challenger' THEN 'challenger' END
        ),
        CONSTRAINT model_decisions_moves_are_promotions CHECK (action = 'gate' OR decision = 'promote')
    )
    """,
    "CREATE UNIQUE INDEX model_decisions_one_gate_per_version ON ops.model_decisions (model_name, version) "
    "WHERE action = 'gate'",
    "CREATE INDEX model_decisions_history ON ops.model_decisions (model_name, id)",
    "REVOKE UPDATE, DELETE, TRUNCATE ON ops.model_decisions FROM traider_app",
    "GRANT SELECT, INSERT ON ops.model_decisions TO traider_app",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ops.model_decisions")
