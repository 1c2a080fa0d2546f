"""The database itself rejects impossible rows, naming the constraint."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from tests.postgres import connect

OHLCV_INSERT = (
    "INSERT INTO market.ohlcv (venue, symbol, timeframe, ts, open, high, low, close, volume) "
    "VALUES ('sim', 'BTC/USD', %s, %s, %s, %s, %s, %s, %s)"
)
GOOD_BAR = ("1m", "2024-01-01 00:00+00", 100.0, 101.0, 99.0, 100.5, 3.0)


@pytest.fixture
def db(clean_tables: Engine, database_url: URL) -> Iterator[psycopg.Connection]:
    connection = connect(database_url, role="traider_app")
    connection.execute(
        "SELECT ops.ensure_monthly_partitions(CAST(t AS regclass), '2023-12-01', '2024-02-01') "
        "FROM unnest(ARRAY['market.ohlcv', 'market.trades', 'market.funding_rates', 'market.book_deltas']) t"
    )
    connection.commit()
    yield connection
    connection.rollback()
    connection.close()


def _rejects(connection: psycopg.Connection, statement: str, params: tuple[object, ...], constraint: str) -> None:
    with pytest.raises(psycopg.errors.IntegrityError) as caught:
        connection.execute(statement, params)
    connection.rollback()
    assert constraint in str(caught.value)
    assert caught.value.diag.constraint_name == constraint


def test_ohlcv_accepts_a_consistent_bar(db: psycopg.Connection) -> None:
    db.execute(OHLCV_INSERT, GOOD_BAR)
    db.commit()
    assert db.execute("SELECT count(*) FROM market.ohlcv").fetchone() == (1,)


@pytest.mark.parametrize(
    ("bar", "constraint"),
    [
        (("1m", "2024-01-01", 100.0, 98.0, 99.0, 99.0, 1.0), "ohlcv_high_not_below_low"),
        (("1m", "2024-01-01", 100.0, float("nan"), 99.0, 100.0, 1.0), "ohlcv_prices_positive_finite"),
        (("1m", "2024-01-01", 100.0, float("inf"), 99.0, 100.0, 1.0), "ohlcv_prices_positive_finite"),
        (("1m", "2024-01-01", -1.0, 101.0, -2.0, 100.0, 1.0), "ohlcv_prices_positive_finite"),
        (("1m", "2024-01-01", 100.0, 101.0, 99.0, 100.0, -0.5), "ohlcv_volume_not_negative"),
        (("1m", "2024-01-01", 100.0, 101.0, 99.0, 100.0, float("nan")), "ohlcv_volume_not_negative"),
        (("1m", "2024-01-01", 102.0, 101.0, 99.0, 100.0, 1.0), "ohlcv_open_close_within_range"),
        (("one", "2024-01-01", 100.0, 101.0, 99.0, 100.0, 1.0), "ohlcv_timeframe_format"),
    ],
)
def test_ohlcv_rejects_impossible_bar_naming_constraint(
    db: psycopg.Connection, bar: tuple[object, ...], constraint: str
) -> None:
    _rejects(db, OHLCV_INSERT, bar, constraint)


def test_series_reject_timestamps_before_genesis(database_url: URL, clean_tables: Engine) -> None:
    with connect(database_url) as connection:
        connection.execute("SELECT ops.ensure_monthly_partitions('market.ohlcv', '1970-01-01', '1970-01-02')")
        _rejects(
            connection,
            OHLCV_INSERT,
            ("1m", "1970-01-01 00:00:01+00", 1, 1, 1, 1, 1),
            "ohlcv_ts_after_genesis",
        )


@pytest.mark.parametrize(
    ("statement", "params", "constraint"),
    [
        (
            "INSERT INTO market.trades (venue, symbol, trade_id, ts, price, amount, side) "
            "VALUES ('sim', 'BTC/USD', '1', '2024-01-01', %s, %s, 'buy')",
            (0.0, 1.0),
            "trades_price_positive_finite",
        ),
        (
            "INSERT INTO market.trades (venue, symbol, trade_id, ts, price, amount, side) "
            "VALUES ('sim', 'BTC/USD', '1', '2024-01-01', %s, %s, 'hold')",
            (1.0, 1.0),
            "trades_side_known",
        ),
        (
            "INSERT INTO market.funding_rates (venue, symbol, ts, rate) VALUES ('sim', 'BTC/USD:USD', '2024-01-01', %s)",
            (float("nan"),),
            "funding_rates_rate_bounded",
        ),
        (
            "INSERT INTO market.book_deltas (venue, symbol, ts, sequence, side, price, amount) "
            "VALUES ('sim', 'BTC/USD', '2024-01-01', 1, 'bid', %s, %s)",
            (100.0, -1.0),
            "book_deltas_amount_not_negative",
        ),
        (
            "INSERT INTO market.instruments (venue, symbol, base, quote, kind, tick_size, lot_size, expiry) "
            "VALUES ('sim', 'BTC-FUT', 'BTC', 'USD', 'future', %s, %s, NULL)",
            (0.5, 0.001),
            "instruments_expiry_iff_dated",
        ),
        (
            "INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, side, order_type, "
            "quantity, price, status) VALUES ('c1', 'paper', 'sim', 'BTC/USD', 's', 'buy', 'limit', %s, %s, 'new')",
            (0, 100),
            "orders_quantity_positive_finite",
        ),
        (
            "INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, side, order_type, "
            "quantity, price, status) VALUES ('c1', 'paper', 'sim', 'BTC/USD', 's', 'buy', 'limit', %s, %s, 'new')",
            (1, None),
            "orders_limit_has_price",
        ),
    ],
)
def test_tables_reject_impossible_rows_naming_constraint(
    db: psycopg.Connection, statement: str, params: tuple[object, ...], constraint: str
) -> None:
    _rejects(db, statement, params, constraint)


def test_fills_reject_a_second_fill_with_the_same_venue_fill_id(db: psycopg.Connection) -> None:
    order_id = db.execute(
        "INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, side, order_type, quantity, "
        "status) VALUES ('c-fill', 'paper', 'sim', 'BTC/USD', 's', 'buy', 'market', 2, 'open') RETURNING id"
    ).fetchone()
    assert order_id is not None
    fill = (
        "INSERT INTO trading.fills (order_id, venue, venue_fill_id, symbol, side, price, quantity, fee, "
        "fee_currency, liquidity, filled_at) VALUES (%s, 'sim', 'f-1', 'BTC/USD', 'buy', 100, 1, 0.1, 'USD', "
        "'taker', now())"
    )
    db.execute(fill, (order_id[0],))
    db.commit()
    _rejects(db, fill, (order_id[0],), "fills_venue_fill_id_unique")
    assert db.execute("SELECT count(*) FROM trading.fills").fetchone() == (1,)
