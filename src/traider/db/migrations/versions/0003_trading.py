"""Trading: orders, fills, positions, balances and P&L snapshots.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Money is `numeric` (exact decimals). Every order has a deterministic client order id and every
fill a venue fill id, both UNIQUE, so a replayed write can never double an order or a fill.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _finite(column: str) -> str:
    return f"{column} > '-Infinity' AND {column} < 'Infinity'"


def _positive_finite(column: str) -> str:
    return f"{column} > 0 AND {column} < 'Infinity'"


MODE = "mode text NOT NULL CHECK (mode IN ('paper', 'live', 'backtest'))"

STATEMENTS = (
    f"""
    CREATE TABLE trading.orders (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        client_order_id text NOT NULL CONSTRAINT orders_client_order_id_unique UNIQUE,
        venue_order_id text,
        {MODE},
        venue text NOT NULL,
        symbol text NOT NULL,
        strategy text NOT NULL,
        model_name text,
        model_version text,
        side text NOT NULL CONSTRAINT orders_side_known CHECK (side IN ('buy', 'sell')),
        order_type text NOT NULL CONSTRAINT orders_type_known
            CHECK (order_type IN ('market', 'limit', 'stop', 'stop_limit')),
        time_in_force text NOT NULL DEFAULT 'gtc' CONSTRAINT orders_time_in_force_known
            CHECK (time_in_force IN ('gtc', 'ioc', 'fok', 'post_only')),
        quantity numeric NOT NULL CONSTRAINT orders_quantity_positive_finite CHECK ({_positive_finite("quantity")}),
        price numeric CONSTRAINT orders_price_positive_finite CHECK (price IS NULL OR ({_positive_finite("price")})),
        stop_price numeric CONSTRAINT orders_stop_price_positive_finite
            CHECK (stop_price IS NULL OR ({_positive_finite("stop_price")})),
        filled_quantity numeric NOT NULL DEFAULT 0 CONSTRAINT orders_filled_within_quantity
            CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
        status text NOT NULL CONSTRAINT orders_status_known CHECK (status IN
            ('new', 'open', 'partially_filled', 'filled', 'canceled', 'rejected', 'expired')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        closed_at timestamptz,
        CONSTRAINT orders_limit_has_price CHECK (order_type IN ('market', 'stop') OR price IS NOT NULL),
        CONSTRAINT orders_stop_has_stop_price CHECK (order_type NOT IN ('stop', 'stop_limit') OR stop_price IS NOT NULL),
        CONSTRAINT orders_venue_order_id_unique UNIQUE (venue, venue_order_id)
    )
    """,
    "CREATE INDEX orders_open_by_venue ON trading.orders (venue, symbol) "
    "WHERE status IN ('new', 'open', 'partially_filled')",
    f"""
    CREATE TABLE trading.fills (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES trading.orders (id),
        venue text NOT NULL,
        venue_fill_id text NOT NULL,
        symbol text NOT NULL,
        side text NOT NULL CONSTRAINT fills_side_known CHECK (side IN ('buy', 'sell')),
        price numeric NOT NULL CONSTRAINT fills_price_positive_finite CHECK ({_positive_finite("price")}),
        quantity numeric NOT NULL CONSTRAINT fills_quantity_positive_finite CHECK ({_positive_finite("quantity")}),
        fee numeric NOT NULL DEFAULT 0 CONSTRAINT fills_fee_finite CHECK ({_finite("fee")}),
        fee_currency text NOT NULL,
        liquidity text NOT NULL CONSTRAINT fills_liquidity_known CHECK (liquidity IN ('maker', 'taker')),
        filled_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT fills_venue_fill_id_unique UNIQUE (venue, venue_fill_id)
    )
    """,
    "CREATE INDEX fills_by_order ON trading.fills (order_id)",
    "CREATE INDEX fills_filled_at_brin ON trading.fills USING brin (filled_at)",
    f"""
    CREATE TABLE trading.positions (
        {MODE},
        venue text NOT NULL,
        symbol text NOT NULL,
        quantity numeric NOT NULL CONSTRAINT positions_quantity_finite CHECK ({_finite("quantity")}),
        average_entry_price numeric CONSTRAINT positions_average_entry_price_positive_finite
            CHECK (average_entry_price IS NULL OR ({_positive_finite("average_entry_price")})),
        realised_pnl numeric NOT NULL DEFAULT 0 CONSTRAINT positions_realised_pnl_finite
            CHECK ({_finite("realised_pnl")}),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mode, venue, symbol)
    )
    """,
    f"""
    CREATE TABLE trading.balances (
        {MODE},
        venue text NOT NULL,
        asset text NOT NULL,
        total numeric NOT NULL CONSTRAINT balances_total_finite CHECK ({_finite("total")}),
        available numeric NOT NULL CONSTRAINT balances_available_finite CHECK ({_finite("available")}),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mode, venue, asset)
    )
    """,
    f"""
    CREATE TABLE trading.pnl_snapshots (
        {MODE},
        strategy text NOT NULL,
        ts timestamptz NOT NULL,
        equity numeric NOT NULL CONSTRAINT pnl_snapshots_equity_finite CHECK ({_finite("equity")}),
        realised_pnl numeric NOT NULL CONSTRAINT pnl_snapshots_realised_finite CHECK ({_finite("realised_pnl")}),
        unrealised_pnl numeric NOT NULL CONSTRAINT pnl_snapshots_unrealised_finite CHECK ({_finite("unrealised_pnl")}),
        fees_paid numeric NOT NULL DEFAULT 0 CONSTRAINT pnl_snapshots_fees_finite CHECK ({_finite("fees_paid")}),
        funding_pnl numeric NOT NULL DEFAULT 0 CONSTRAINT pnl_snapshots_funding_finite CHECK ({_finite("funding_pnl")}),
        PRIMARY KEY (mode, strategy, ts)
    )
    """,
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("pnl_snapshots", "balances", "positions", "fills", "orders"):
        op.execute(f"DROP TABLE IF EXISTS trading.{table}")
