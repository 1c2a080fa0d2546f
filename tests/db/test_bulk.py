"""The bulk writer against a real PostgreSQL server: idempotence, partitions, rejection, roles, real data."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tests.postgres import connect
from traider.db.bulk import BulkResult, BulkWriteError, write_rows

UTC = dt.UTC
OHLCV = "market.ohlcv"


def bars(
    count: int, *, start: str = "2024-01-01", symbol: str = "BTC/USDT", step: str = "1min", seed: int = 0
) -> pd.DataFrame:
    """Return `count` consistent OHLCV bars of one series."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, count)))
    open_ = np.concatenate([[100.0], close])[:count]
    return pd.DataFrame(
        {
            "venue": "binance",
            "symbol": symbol,
            "timeframe": "1m",
            "ts": pd.date_range(start, periods=count, freq=step, tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": rng.random(count) * 5.0,
        }
    )


def stored(engine: Engine, table: str = OHLCV, order: str = "venue, symbol, timeframe, ts") -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(text(f"SELECT * FROM {table} ORDER BY {order}"), connection)


def count(engine: Engine, table: str = OHLCV) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def app_connection(database_url: URL, clean_tables: Engine) -> Iterator[psycopg.Connection]:
    connection = connect(database_url, role="traider_app")
    yield connection
    connection.close()


def test_write_rows_twice_keeps_one_copy_and_reports_skips(app_engine: Engine, clean_tables: Engine) -> None:
    frame = bars(1_000)
    first = write_rows(app_engine, OHLCV, frame, batch_rows=300)
    second = write_rows(app_engine, OHLCV, frame, batch_rows=300)
    assert first == BulkResult(table=OHLCV, offered=1_000, inserted=1_000, skipped=0, batches=4)
    assert second == BulkResult(table=OHLCV, offered=1_000, inserted=0, skipped=1_000, batches=4)
    assert count(clean_tables) == 1_000


@pytest.mark.parametrize("direct", [True, False])
def test_write_rows_values_read_back_exactly(app_engine: Engine, clean_tables: Engine, direct: bool) -> None:
    frame = bars(500, symbol="ETH/USDT", seed=3)
    write_rows(app_engine, OHLCV, frame, direct=direct)
    back = stored(clean_tables)
    pd.testing.assert_frame_equal(back.drop(columns="ingested_at"), frame, check_dtype=False)


def test_write_rows_overlapping_load_inserts_only_new_rows(app_engine: Engine, clean_tables: Engine) -> None:
    frame = bars(2_000)
    write_rows(app_engine, OHLCV, frame.iloc[:1_200])
    result = write_rows(app_engine, OHLCV, frame.iloc[1_000:])
    assert (result.offered, result.inserted, result.skipped) == (1_000, 800, 200)
    assert count(clean_tables) == 2_000


def test_write_rows_other_series_in_same_time_range_is_not_a_duplicate(
    app_engine: Engine, clean_tables: Engine
) -> None:
    write_rows(app_engine, OHLCV, bars(600, symbol="BTC/USDT"))
    result = write_rows(app_engine, OHLCV, pd.concat([bars(600, symbol="ETH/USDT"), bars(600, symbol="BTC/USDT")]))
    assert (result.inserted, result.skipped) == (600, 600)
    assert count(clean_tables) == 1_200


@pytest.mark.parametrize("direct", [True, False])
def test_write_rows_duplicates_within_a_batch_keep_the_first(
    app_engine: Engine, clean_tables: Engine, direct: bool
) -> None:
    frame = bars(100)
    changed = frame.iloc[10:20].assign(volume=999.0)
    result = write_rows(app_engine, OHLCV, pd.concat([frame, changed], ignore_index=True), direct=direct)
    assert (result.offered, result.inserted, result.skipped) == (110, 100, 10)
    back = stored(clean_tables)
    assert len(back) == 100
    assert back["volume"].tolist() == frame["volume"].tolist()


def test_write_rows_creates_monthly_partitions_on_demand(app_engine: Engine, clean_tables: Engine) -> None:
    frame = bars(4 * 31, start="2021-10-20", step="1D")
    result = write_rows(app_engine, OHLCV, frame, batch_rows=50)
    assert result.inserted == len(frame)
    with clean_tables.connect() as connection:
        names = connection.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'market.ohlcv'::regclass AND c.relname BETWEEN 'ohlcv_p202110' AND 'ohlcv_p202203'"
            )
        ).scalars()
        per_partition = connection.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM market.ohlcv GROUP BY 1 ORDER BY 1")
        ).all()
    assert sorted(names) == ["ohlcv_p202110", "ohlcv_p202111", "ohlcv_p202112", "ohlcv_p202201", "ohlcv_p202202"]
    assert [n for _, n in per_partition] == [12, 30, 31, 31, 20]


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("high", 1.0, "ohlcv_high_not_below_low"),
        ("high", float("nan"), "ohlcv_prices_positive_finite"),
        ("volume", -1.0, "ohlcv_volume_not_negative"),
    ],
)
def test_write_rows_impossible_row_rejects_its_batch_only(
    app_engine: Engine, clean_tables: Engine, *, column: str, value: float, constraint: str, direct: bool
) -> None:
    write_rows(app_engine, OHLCV, bars(50, start="2023-06-01"))
    frame = bars(300)
    frame.loc[250, column] = value
    with pytest.raises(BulkWriteError, match=constraint) as caught:
        write_rows(app_engine, OHLCV, frame, batch_rows=200, direct=direct)
    message = str(caught.value)
    assert message.startswith("market.ohlcv: rows 200-299 rejected")
    assert "\n" not in message
    assert caught.value.constraint == constraint
    assert count(clean_tables) == 50 + 200  # the earlier load and the first batch of this call stay


def test_write_rows_as_app_role_on_psycopg_connection(app_connection: psycopg.Connection) -> None:
    result = write_rows(app_connection, OHLCV, bars(10))
    assert app_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # committed
    assert app_connection.execute("SELECT current_user").fetchone() == ("traider_app",)
    assert result.inserted == 10


def test_write_rows_inside_callers_transaction_rolls_back_with_it(clean_tables: Engine) -> None:
    with clean_tables.connect() as connection:
        transaction = connection.begin()
        result = write_rows(connection, OHLCV, bars(20), batch_rows=7)
        assert result.inserted == 20
        assert connection.execute(text("SELECT count(*) FROM market.ohlcv")).scalar_one() == 20
        transaction.rollback()
    assert count(clean_tables) == 0


def test_write_rows_mapping_of_arrays_and_progress(app_engine: Engine, clean_tables: Engine) -> None:
    frame = bars(5)
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    seen: list[int] = []
    result = write_rows(app_engine, OHLCV, columns, batch_rows=2, progress=seen.append)
    assert seen == [2, 4, 5]
    assert result.batches == 3
    assert count(clean_tables) == 5


def test_write_rows_unknown_column_names_table_and_column(app_engine: Engine, clean_tables: Engine) -> None:
    with pytest.raises(BulkWriteError, match=r"^table market\.ohlcv has no column 'price'$"):
        write_rows(app_engine, OHLCV, bars(3).rename(columns={"close": "price"}))


def test_write_rows_unknown_table_is_one_line_error(app_engine: Engine) -> None:
    with pytest.raises(BulkWriteError, match=r"^table market\.nope does not exist"):
        write_rows(app_engine, "market.nope", bars(3))


def test_write_rows_missing_required_column_names_it(app_engine: Engine, clean_tables: Engine) -> None:
    with pytest.raises(BulkWriteError, match='column "volume"'):
        write_rows(app_engine, OHLCV, bars(3).drop(columns="volume"))
    assert count(clean_tables) == 0


def test_write_rows_empty_input_writes_nothing(app_engine: Engine, clean_tables: Engine) -> None:
    result = write_rows(app_engine, OHLCV, bars(0))
    assert result == BulkResult(table=OHLCV)


def test_write_rows_numeric_columns_take_row_path(app_engine: Engine, clean_tables: Engine) -> None:
    instruments = {
        "venue": ["binance", "binance"],
        "symbol": ["BTC/USDT", "ETH/USDT:USDT"],
        "base": ["BTC", "ETH"],
        "quote": ["USDT", "USDT"],
        "settle": [None, "USDT"],
        "kind": ["spot", "perp"],
        "tick_size": [decimal.Decimal("0.01"), 0.1],
        "lot_size": np.array([1e-5, 0.001]),
    }
    first = write_rows(app_engine, "market.instruments", instruments)
    again = write_rows(app_engine, "market.instruments", instruments)
    assert (first.inserted, again.skipped) == (2, 2)
    with clean_tables.connect() as connection:
        back = connection.execute(
            text("SELECT symbol, settle, tick_size, lot_size FROM market.instruments ORDER BY symbol")
        ).all()
    assert [tuple(row) for row in back] == [
        ("BTC/USDT", None, decimal.Decimal("0.01"), decimal.Decimal("0.00001")),
        ("ETH/USDT:USDT", "USDT", decimal.Decimal("0.1"), decimal.Decimal("0.001")),
    ]


def test_write_rows_array_columns_into_partitioned_table(app_engine: Engine, clean_tables: Engine) -> None:
    snapshots = {
        "venue": ["binance"] * 2,
        "symbol": ["BTC/USDT"] * 2,
        "ts": [dt.datetime(2024, 3, 31, 23, 59, tzinfo=UTC), dt.datetime(2024, 4, 1, tzinfo=UTC)],
        "bid_prices": [[100.0, 99.5], np.array([101.0])],
        "bid_amounts": [[1.0, 2.0], np.array([0.5])],
        "ask_prices": [[100.5], []],
        "ask_amounts": [[3.0], []],
    }
    result = write_rows(app_engine, "market.book_snapshots", snapshots)
    assert result.inserted == 2
    back = stored(clean_tables, "market.book_snapshots", order="ts")
    assert back["bid_prices"].tolist() == [[100.0, 99.5], [101.0]]


def test_write_rows_loads_real_freqtrade_candles(app_engine: Engine, clean_tables: Engine, shared_data: Path) -> None:
    candles = pd.read_feather(shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather")
    frame = candles.rename(columns={"date": "ts"}).assign(venue="binance", symbol="UNITTEST/BTC", timeframe="5m")
    result = write_rows(app_engine, OHLCV, frame, batch_rows=2_000)
    assert (result.offered, result.inserted, result.batches) == (len(candles), len(candles), 3)
    back = stored(clean_tables)
    assert len(back) == len(candles) == 5_760
    for i in (0, 1_234, len(candles) - 1):
        row = back.iloc[i]
        assert row["ts"] == candles["date"].iloc[i]
        for name in ("open", "high", "low", "close", "volume"):
            assert row[name] == candles[name].iloc[i]
    assert back["volume"].sum() == pytest.approx(candles["volume"].sum(), rel=1e-12)


def test_write_rows_text_with_nul_byte_is_one_line_error(app_engine: Engine, clean_tables: Engine) -> None:
    frame = bars(3).assign(symbol=["BTC/USDT", "BTC\x00USDT", "BTC/USDT"])
    with pytest.raises(BulkWriteError, match=r"^market\.ohlcv: rows 0-2 rejected \(.*0x00") as caught:
        write_rows(app_engine, OHLCV, frame)
    assert caught.value.constraint is None
    assert count(clean_tables) == 0


def test_write_rows_value_of_wrong_type_names_table_and_column(app_engine: Engine, clean_tables: Engine) -> None:
    frame = bars(2).astype({"volume": object})
    frame.loc[1, "volume"] = "lots"
    with pytest.raises(BulkWriteError, match=r"^market\.ohlcv: volume: cannot encode as float8"):
        write_rows(app_engine, OHLCV, frame)


def _trades(count: int, *, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "venue": "sim",
            "symbol": "BTC/USD",
            "trade_id": [f"t{offset + index}" for index in range(count)],
            "ts": pd.date_range("2024-02-01", periods=count, freq="s", tz="UTC"),
            "price": 100.0,
            "amount": 0.5,
            "side": "buy",
        }
    )


def test_may_conflict_with_many_trade_ids_probes_the_coarser_series(app_engine: Engine, clean_tables: Engine) -> None:
    """Thousands of trade ids are one (venue, symbol) series to the probe: a fresh range takes the direct path."""
    from traider.db import bulk

    fresh = _trades(5_000)
    with app_engine.connect() as connection:
        driver = connection.connection.driver_connection
        info = bulk._lookup_table(driver, "market.trades", list(fresh.columns))
        batch = {name: fresh[name] for name in fresh.columns}
        micros = bulk._partition_micros(info, batch)
        assert micros is not None
        assert bulk._may_conflict(driver, info, batch, micros) is False
        connection.rollback()
    write_rows(app_engine, "market.trades", fresh.iloc[:10])
    with app_engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert bulk._may_conflict(driver, info, batch, micros) is True
        connection.rollback()
    result = write_rows(app_engine, "market.trades", fresh)
    assert (result.inserted, result.skipped) == (4_990, 10)
