"""Roles, schemas, privileges and the partition helper.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Roles are cluster-wide, so they are created only when missing and never dropped by a downgrade.
`traider_app` is the least-privilege role the application switches to; `traider_audit_owner`
owns the audit log and cannot log in.
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMAS = ("market", "trading", "ops", "audit")
WRITABLE_SCHEMAS = ("market", "trading", "ops")

CREATE_ROLES = """
DO $$
BEGIN
    BEGIN
        CREATE ROLE traider_app NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        CREATE ROLE traider_audit_owner NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT traider_app, traider_audit_owner TO %I', current_user);
    END IF;
END
$$
"""

ENSURE_MONTHLY_PARTITIONS = """
CREATE FUNCTION ops.ensure_monthly_partitions(parent regclass, first_ts timestamptz, last_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent_schema text;
    parent_name text;
    month_start timestamptz;
    month_end timestamptz;
    partition_name text;
    months integer := 0;
    created integer := 0;
BEGIN
    IF first_ts IS NULL OR last_ts IS NULL THEN
        RETURN 0;
    END IF;
    IF last_ts < first_ts THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: last_ts % is before first_ts %', last_ts, first_ts;
    END IF;
    SELECT n.nspname, c.relname INTO parent_schema, parent_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = parent AND c.relkind = 'p';
    IF NOT FOUND THEN
        RETURN 0;  -- not range-partitioned (a hypertable, say): nothing to create
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('traider.partitions.' || parent::text, 0));
    months := (extract(year FROM last_ts AT TIME ZONE 'UTC') - extract(year FROM first_ts AT TIME ZONE 'UTC')) * 12
        + extract(month FROM last_ts AT TIME ZONE 'UTC') - extract(month FROM first_ts AT TIME ZONE 'UTC') + 1;
    IF months > 600 THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: % to % spans % months, more than 600; check the timestamps',
            first_ts, last_ts, months;
    END IF;
    month_start := date_trunc('month', first_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    WHILE month_start <= last_ts LOOP
        month_end := ((month_start AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        partition_name := parent_name || '_p' || to_char(month_start AT TIME ZONE 'UTC', 'YYYYMM');
        IF to_regclass(format('%I.%I', parent_schema, partition_name)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           parent_schema, partition_name, parent, month_start, month_end);
            created := created + 1;
        END IF;
        month_start := month_end;
    END LOOP;
    RETURN created;
END
$$
"""


def upgrade() -> None:
    op.execute(CREATE_ROLES)
    for schema in SCHEMAS:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    op.execute(f"GRANT USAGE ON SCHEMA {', '.join(SCHEMAS)} TO traider_app")
    op.execute("GRANT USAGE ON SCHEMA audit TO traider_audit_owner")
    writable = ", ".join(WRITABLE_SCHEMAS)
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {writable} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO traider_app"
    )
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {writable} GRANT USAGE, SELECT ON SEQUENCES TO traider_app")
    # lets the application check the schema revision before it works
    op.execute("GRANT SELECT ON alembic_version TO traider_app")
    op.execute(ENSURE_MONTHLY_PARTITIONS)
    op.execute("REVOKE ALL ON FUNCTION ops.ensure_monthly_partitions(regclass, timestamptz, timestamptz) FROM PUBLIC")
    op.execute(
        "GRANT EXECUTE ON FUNCTION ops.ensure_monthly_partitions(regclass, timestamptz, timestamptz) TO traider_app"
    )


def downgrade() -> None:
    writable = ", ".join(WRITABLE_SCHEMAS)
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {writable} "
        "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM traider_app"
    )
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {writable} REVOKE USAGE, SELECT ON SEQUENCES FROM traider_app")
    for schema in reversed(SCHEMAS):
        op.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
