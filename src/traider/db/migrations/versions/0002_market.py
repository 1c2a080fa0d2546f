"""Market data: instruments, OHLCV bars, trades, L2 snapshots and deltas, funding rates, watermarks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Time series become TimescaleDB hypertables when the extension is available and are partitioned
by month otherwise (see traider.db.timeseries). CHECK constraints reject impossible rows: prices
must be positive and finite (NaN and infinity fail `< 'Infinity'`), high may not be below low,
volume may not be negative, and no timestamp predates the Bitcoin genesis block (2009-01-03),
which catches seconds-versus-milliseconds mistakes.
"""

from alembic import op

from traider.db.timescale import timescale_available
from traider.db.timeseries import SeriesTable, series_table_ddl

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _positive_finite(*columns: str) -> str:
    return " AND ".join(f"{column} > 0 AND {column} < 'Infinity'" for column in columns)


GENESIS = "'2009-01-03 00:00:00+00'"

OHLCV = SeriesTable(
    schema="market",
    name="ohlcv",
    segment_by=("venue", "symbol", "timeframe"),
    columns_sql=f"""
    venue text NOT NULL,
    symbol text NOT NULL,
    timeframe text NOT NULL CONSTRAINT ohlcv_timeframe_format CHECK (timeframe ~ '^[0-9]+[smhdwM]$'),
    ts timestamptz NOT NULL CONSTRAINT ohlcv_ts_after_genesis CHECK (ts >= {GENESIS}),
    open double precision NOT NULL,
    high double precision NOT NULL,
    low double precision NOT NULL,
    close double precision NOT NULL,
    volume double precision NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ohlcv_prices_positive_finite CHECK ({_positive_finite("open", "high", "low", "close")}),
    CONSTRAINT ohlcv_high_not_below_low CHECK (high >= low),
    CONSTRAINT ohlcv_open_close_within_range CHECK (open BETWEEN low AND high AND close BETWEEN low AND high),
    CONSTRAINT ohlcv_volume_not_negative CHECK (volume >= 0 AND volume < 'Infinity'),
    PRIMARY KEY (venue, symbol, timeframe, ts)""",
)

TRADES = SeriesTable(
    schema="market",
    name="trades",
    segment_by=("venue", "symbol"),
    columns_sql=f"""
    venue text NOT NULL,
    symbol text NOT NULL,
    trade_id text NOT NULL,
    ts timestamptz NOT NULL CONSTRAINT trades_ts_after_genesis CHECK (ts >= {GENESIS}),
    price double precision NOT NULL,
    amount double precision NOT NULL,
    side text CONSTRAINT trades_side_known CHECK (side IN ('buy', 'sell')),
    ingested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT trades_price_positive_finite CHECK ({_positive_finite("price")}),
    CONSTRAINT trades_amount_positive_finite CHECK ({_positive_finite("amount")}),
    PRIMARY KEY (venue, symbol, trade_id, ts)""",
)

BOOK_SNAPSHOTS = SeriesTable(
    schema="market",
    name="book_snapshots",
    segment_by=("venue", "symbol"),
    chunk_interval="1 day",
    columns_sql=f"""
    venue text NOT NULL,
    symbol text NOT NULL,
    ts timestamptz NOT NULL CONSTRAINT book_snapshots_ts_after_genesis CHECK (ts >= {GENESIS}),
    sequence bigint NOT NULL DEFAULT 0,
    bid_prices double precision[] NOT NULL,
    bid_amounts double precision[] NOT NULL,
    ask_prices double precision[] NOT NULL,
    ask_amounts double precision[] NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT book_snapshots_levels_paired CHECK (
        cardinality(bid_prices) = cardinality(bid_amounts) AND cardinality(ask_prices) = cardinality(ask_amounts)),
    CONSTRAINT book_snapshots_prices_positive_finite CHECK (
        0 < ALL (bid_prices) AND 'Infinity' > ALL (bid_prices)
        AND 0 < ALL (ask_prices) AND 'Infinity' > ALL (ask_prices)),
    CONSTRAINT book_snapshots_amounts_not_negative CHECK (
        0 <= ALL (bid_amounts) AND 'Infinity' > ALL (bid_amounts)
        AND 0 <= ALL (ask_amounts) AND 'Infinity' > ALL (ask_amounts)),
    PRIMARY KEY (venue, symbol, ts, sequence)""",
)

BOOK_DELTAS = SeriesTable(
    schema="market",
    name="book_deltas",
    segment_by=("venue", "symbol"),
    chunk_interval="1 day",
    columns_sql=f"""
    venue text NOT NULL,
    symbol text NOT NULL,
    ts timestamptz NOT NULL CONSTRAINT book_deltas_ts_after_genesis CHECK (ts >= {GENESIS}),
    sequence bigint NOT NULL,
    side text NOT NULL CONSTRAINT book_deltas_side_known CHECK (side IN ('bid', 'ask')),
    price double precision NOT NULL,
    amount double precision NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT book_deltas_price_positive_finite CHECK ({_positive_finite("price")}),
    CONSTRAINT book_deltas_amount_not_negative CHECK (amount >= 0 AND amount < 'Infinity'),
    PRIMARY KEY (venue, symbol, ts, sequence, side, price)""",
)

FUNDING_RATES = SeriesTable(
    schema="market",
    name="funding_rates",
    segment_by=("venue", "symbol"),
    chunk_interval="30 days",
    columns_sql=f"""
    venue text NOT NULL,
    symbol text NOT NULL,
    ts timestamptz NOT NULL CONSTRAINT funding_rates_ts_after_genesis CHECK (ts >= {GENESIS}),
    rate double precision NOT NULL CONSTRAINT funding_rates_rate_bounded CHECK (rate > -1 AND rate < 1),
    mark_price double precision CONSTRAINT funding_rates_mark_price_positive_finite
        CHECK (mark_price IS NULL OR ({_positive_finite("mark_price")})),
    index_price double precision CONSTRAINT funding_rates_index_price_positive_finite
        CHECK (index_price IS NULL OR ({_positive_finite("index_price")})),
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, symbol, ts)""",
)

SERIES = (OHLCV, TRADES, BOOK_SNAPSHOTS, BOOK_DELTAS, FUNDING_RATES)

INSTRUMENTS = f"""
CREATE TABLE market.instruments (
    venue text NOT NULL,
    symbol text NOT NULL,
    base text NOT NULL,
    quote text NOT NULL,
    settle text,
    kind text NOT NULL CONSTRAINT instruments_kind_known CHECK (kind IN ('spot', 'perp', 'future', 'option')),
    tick_size numeric NOT NULL CONSTRAINT instruments_tick_size_positive_finite CHECK ({_positive_finite("tick_size")}),
    lot_size numeric NOT NULL CONSTRAINT instruments_lot_size_positive_finite CHECK ({_positive_finite("lot_size")}),
    contract_size numeric NOT NULL DEFAULT 1
        CONSTRAINT instruments_contract_size_positive_finite CHECK ({_positive_finite("contract_size")}),
    expiry timestamptz,
    strike numeric CONSTRAINT instruments_strike_positive_finite CHECK (strike IS NULL OR ({_positive_finite("strike")})),
    option_type text CONSTRAINT instruments_option_type_known CHECK (option_type IN ('call', 'put')),
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT instruments_expiry_iff_dated CHECK ((kind IN ('future', 'option')) = (expiry IS NOT NULL)),
    CONSTRAINT instruments_strike_iff_option CHECK (
        (kind = 'option') = (strike IS NOT NULL) AND (kind = 'option') = (option_type IS NOT NULL)),
    PRIMARY KEY (venue, symbol)
)
"""

WATERMARKS = """
CREATE TABLE market.ingest_watermarks (
    venue text NOT NULL,
    symbol text NOT NULL,
    stream text NOT NULL CONSTRAINT ingest_watermarks_stream_known
        CHECK (stream IN ('ohlcv', 'trades', 'book_snapshots', 'book_deltas', 'funding_rates')),
    timeframe text NOT NULL DEFAULT '',
    last_ts timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue, symbol, stream, timeframe)
)
"""


def upgrade() -> None:
    timescale = timescale_available(op.get_bind())
    if timescale:
        op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    op.execute(INSTRUMENTS)
    op.execute(WATERMARKS)
    for table in SERIES:
        for statement in series_table_ddl(table, timescale=timescale):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(SERIES):
        op.execute(f"DROP TABLE IF EXISTS {table.qualified_name} CASCADE")
    op.execute("DROP TABLE IF EXISTS market.ingest_watermarks")
    op.execute("DROP TABLE IF EXISTS market.instruments")
