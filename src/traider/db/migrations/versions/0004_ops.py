"""Operations: data-quality results, quarantine, alerts and heartbeats.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Quarantined records keep the raw record as JSON with the reason; the same record quarantined
twice for the same reason is stored once (record_hash is derived from the record).
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATEMENTS = (
    """
    CREATE TABLE ops.quality_results (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id text NOT NULL,
        suite text NOT NULL,
        table_name text NOT NULL,
        expectation text NOT NULL,
        success boolean NOT NULL,
        observed jsonb NOT NULL DEFAULT '{}'::jsonb,
        data_interval_start timestamptz,
        data_interval_end timestamptz,
        checked_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT quality_results_once_per_run UNIQUE (run_id, suite, expectation),
        CONSTRAINT quality_results_interval_ordered CHECK (data_interval_end >= data_interval_start)
    )
    """,
    "CREATE INDEX quality_results_by_table ON ops.quality_results (table_name, checked_at DESC)",
    """
    CREATE TABLE ops.quarantine (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source text NOT NULL,
        table_name text NOT NULL,
        reason text NOT NULL CONSTRAINT quarantine_reason_given CHECK (reason <> ''),
        record jsonb NOT NULL,
        record_hash text GENERATED ALWAYS AS (md5(record::text)) STORED,
        quarantined_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT quarantine_once_per_reason UNIQUE (source, table_name, record_hash, reason)
    )
    """,
    """
    CREATE TABLE ops.alerts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        severity text NOT NULL CONSTRAINT alerts_severity_known CHECK (severity IN ('info', 'warning', 'critical')),
        source text NOT NULL,
        message text NOT NULL,
        context jsonb NOT NULL DEFAULT '{}'::jsonb,
        raised_at timestamptz NOT NULL DEFAULT now(),
        acknowledged_at timestamptz,
        acknowledged_by text,
        CONSTRAINT alerts_acknowledged_by_someone CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
    )
    """,
    "CREATE INDEX alerts_open ON ops.alerts (raised_at DESC) WHERE acknowledged_at IS NULL",
    """
    CREATE TABLE ops.heartbeats (
        component text NOT NULL,
        ts timestamptz NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        PRIMARY KEY (component, ts)
    )
    """,
    "CREATE INDEX heartbeats_ts_brin ON ops.heartbeats USING brin (ts)",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("heartbeats", "alerts", "quarantine", "quality_results"):
        op.execute(f"DROP TABLE IF EXISTS ops.{table}")
