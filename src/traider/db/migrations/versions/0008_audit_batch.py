"""Audit: append many events in one call, with the same chain as one by one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

`audit.append_batch(actor, actions, subjects, payloads)` appends one event per array element, in array
order, and returns the `seq` of the last one (NULL for empty arrays). Under the same advisory lock as the
insert trigger it reads the last row once, then gives each event the next `seq`, its own `recorded_at`
(`clock_timestamp()`), the previous row's hash as `prev_hash` and its `row_hash` by the same
`audit.canonical_content` rule, and inserts them all with one statement. Callers give only actor, action,
subject and payload, so they cannot forge a chain field; the rows are what appending the events one at a
time through the trigger gives (only sooner), and `traider.audit.chain.verify` checks them the same way.
A NULL or empty field fails the table's constraints as a single insert would, and the whole call with it.

The function is SECURITY DEFINER, owned by `traider_audit_owner` and executable by `traider_app` only.
The per-row trigger `events_chain` now skips rows inserted as `traider_audit_owner` (that is, by this
function, which has just computed them), so a batch pays for the chain once instead of once per row
(a plpgsql call, a lookup of the last row and an un-inlined SQL function per row). Every other role's
inserts still go through the trigger, unchanged. This grants nothing new: the owner could already
disable the table's triggers.

`audit.canonical_content` is marked STABLE instead of IMMUTABLE (it calls `extract(epoch FROM
timestamptz)`, which is STABLE), which is what lets PostgreSQL inline it (in the trigger too); its result
is unchanged.
UPDATE, DELETE and TRUNCATE stay rejected for everyone, and the application role keeps only SELECT
and INSERT on the table.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
OWNER = "traider_audit_owner"
CANONICAL = "audit.canonical_content(bigint, timestamptz, text, text, text, jsonb, text)"
APPEND_BATCH = "audit.append_batch(text, text[], text[], jsonb[])"

STATEMENTS = (
    f"ALTER FUNCTION {CANONICAL} STABLE",
    f"""
    CREATE FUNCTION audit.append_batch(actor text, actions text[], subjects text[], payloads jsonb[])
    RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        total integer := coalesce(cardinality(actions), 0);
        last_seq bigint;
        last_hash text;
        first_prev_hash text;
        moments timestamptz[];
        row_hashes text[];
        n integer;
    BEGIN
        IF coalesce(cardinality(subjects), 0) <> total OR coalesce(cardinality(payloads), 0) <> total THEN
            RAISE EXCEPTION 'audit.append_batch: % actions, % subjects and % payloads differ in number',
                total, coalesce(cardinality(subjects), 0), coalesce(cardinality(payloads), 0)
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF total = 0 THEN
            RETURN NULL;
        END IF;
        PERFORM pg_advisory_xact_lock(hashtextextended('traider.audit.events', 0));
        SELECT e.seq, e.row_hash INTO last_seq, last_hash FROM audit.events e ORDER BY e.seq DESC LIMIT 1;
        last_seq := coalesce(last_seq, 0);
        last_hash := coalesce(last_hash, '{GENESIS_HASH}');
        first_prev_hash := last_hash;
        moments := ARRAY(SELECT date_trunc('microseconds', clock_timestamp()) FROM generate_series(1, total));
        row_hashes := array_fill(NULL::text, ARRAY[total]);
        FOR n IN 1..total LOOP
            -- a NULL actor, action, subject or payload gives a NULL hash (the function is STRICT): the insert fails
            last_hash := encode(sha256(convert_to(audit.canonical_content(
                last_seq + n, moments[n], actor, actions[n], subjects[n], payloads[n], last_hash), 'UTF8')), 'hex');
            row_hashes[n] := last_hash;
        END LOOP;
        INSERT INTO audit.events (seq, recorded_at, actor, action, subject, payload, prev_hash, row_hash)
        SELECT last_seq + e.n, e.recorded_at, append_batch.actor, e.action, e.subject, e.payload, e.prev_hash,
            e.row_hash
        FROM unnest(moments, actions, subjects, payloads, first_prev_hash || row_hashes[1:total - 1], row_hashes)
            WITH ORDINALITY AS e(recorded_at, action, subject, payload, prev_hash, row_hash, n);
        RETURN last_seq + total;
    END
    $$
    """,
    f"ALTER FUNCTION {APPEND_BATCH} OWNER TO {OWNER}",
    f"REVOKE ALL ON FUNCTION {APPEND_BATCH} FROM PUBLIC",
    f"GRANT EXECUTE ON FUNCTION {APPEND_BATCH} TO traider_app",
    "DROP TRIGGER events_chain ON audit.events",
    f"CREATE TRIGGER events_chain BEFORE INSERT ON audit.events FOR EACH ROW WHEN (current_user <> '{OWNER}') "
    "EXECUTE FUNCTION audit.chain_event()",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER events_chain ON audit.events")
    op.execute(
        "CREATE TRIGGER events_chain BEFORE INSERT ON audit.events FOR EACH ROW EXECUTE FUNCTION audit.chain_event()"
    )
    op.execute(f"DROP FUNCTION IF EXISTS {APPEND_BATCH}")
    op.execute(f"ALTER FUNCTION {CANONICAL} IMMUTABLE")
