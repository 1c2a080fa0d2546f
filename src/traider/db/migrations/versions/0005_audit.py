"""Audit: an append-only, hash-chained event log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Each row's `row_hash` is SHA-256 over the canonical content of the row (see traider.audit.chain
for the same rule in Python) including the previous row's hash, so editing or deleting any row
breaks the chain at that row. The insert trigger assigns `seq`, `recorded_at`, `prev_hash` and
`row_hash` itself under an advisory lock: a writer cannot forge them. UPDATE, DELETE and
TRUNCATE are rejected by triggers, the application role may only INSERT and SELECT, and the
table is owned by `traider_audit_owner`, a role that cannot log in.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

STATEMENTS = (
    """
    CREATE TABLE audit.events (
        seq bigint PRIMARY KEY,
        recorded_at timestamptz NOT NULL,
        actor text NOT NULL CONSTRAINT events_actor_given CHECK (actor <> ''),
        action text NOT NULL CONSTRAINT events_action_given CHECK (action <> ''),
        subject text NOT NULL DEFAULT '',
        payload jsonb NOT NULL DEFAULT '{}'::jsonb,
        prev_hash text NOT NULL,
        row_hash text NOT NULL CONSTRAINT events_row_hash_unique UNIQUE
    )
    """,
    """
    CREATE FUNCTION audit.netstring(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT length(value)::text || ':' || value || ';' $$
    """,
    """
    CREATE FUNCTION audit.canonical_content(
        seq bigint, recorded_at timestamptz, actor text, action text, subject text, payload jsonb, prev_hash text
    ) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$
        SELECT audit.netstring(seq::text)
            || audit.netstring(((extract(epoch FROM recorded_at) * 1000000)::bigint)::text)
            || audit.netstring(actor)
            || audit.netstring(action)
            || audit.netstring(subject)
            || audit.netstring(payload::text)
            || audit.netstring(prev_hash)
    $$
    """,
    f"""
    CREATE FUNCTION audit.chain_event() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        last_seq bigint;
        last_hash text;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('traider.audit.events', 0));
        SELECT e.seq, e.row_hash INTO last_seq, last_hash FROM audit.events e ORDER BY e.seq DESC LIMIT 1;
        NEW.seq := coalesce(last_seq, 0) + 1;
        NEW.prev_hash := coalesce(last_hash, '{GENESIS_HASH}');
        NEW.recorded_at := date_trunc('microseconds', clock_timestamp());
        NEW.row_hash := encode(sha256(convert_to(audit.canonical_content(
            NEW.seq, NEW.recorded_at, NEW.actor, NEW.action, NEW.subject, NEW.payload, NEW.prev_hash), 'UTF8')), 'hex');
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION audit.reject_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        RAISE EXCEPTION 'audit.events is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "CREATE TRIGGER events_chain BEFORE INSERT ON audit.events FOR EACH ROW EXECUTE FUNCTION audit.chain_event()",
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON audit.events FOR EACH ROW EXECUTE FUNCTION audit.reject_change()",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON audit.events FOR EACH ROW EXECUTE FUNCTION audit.reject_change()",
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change()",
    "ALTER TABLE audit.events OWNER TO traider_audit_owner",
    "REVOKE ALL ON audit.events FROM PUBLIC",
    "GRANT SELECT, INSERT ON audit.events TO traider_app",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS audit.events")
    op.execute("DROP FUNCTION IF EXISTS audit.reject_change()")
    op.execute("DROP FUNCTION IF EXISTS audit.chain_event()")
    op.execute("DROP FUNCTION IF EXISTS audit.canonical_content(bigint, timestamptz, text, text, text, jsonb, text)")
    op.execute("DROP FUNCTION IF EXISTS audit.netstring(text)")
