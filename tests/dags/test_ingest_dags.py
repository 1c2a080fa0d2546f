"""Real DAG runs (`dag.test()` against PostgreSQL) through ccxt and the exchange emulator."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.dags.airflow_env import AirflowEnvironment
from tests.dags.conftest import emulator_root
from traider.marketdata.emulator.server import ExchangeEmulator

# The emulator serves real 1-minute BTC/USD candles (Jesse's 2019-03-29 day) as Coinbase's history.
HOURS = ("2019-03-29T12:00:00+00:00", "2019-03-29T13:00:00+00:00")


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT venue, symbol, timeframe, ts, open, high, low, close, volume FROM market.ohlcv "
                "ORDER BY venue, symbol, timeframe, ts"
            )
        )
        return [tuple(row) for row in rows]


def _watermark(engine: Engine) -> object:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT last_ts FROM market.ingest_watermarks WHERE venue = 'coinbase' AND symbol = 'BTC/USD' "
                "AND stream = 'ohlcv' AND timeframe = '1m'"
            )
        ).scalar_one_or_none()


@pytest.mark.usefixtures("clean_tables")
def test_ingest_ohlcv_backfill_twice_leaves_identical_tables(
    airflow_env: AirflowEnvironment, emulator: ExchangeEmulator, admin_engine: Engine
) -> None:
    env = {"TRAIDER_EXCHANGE_EMULATOR_URL": emulator_root(emulator)}
    for logical_date in HOURS:
        run = airflow_env.run_dag("ingest_ohlcv", logical_date, extra_env=env)
        assert run.returncode == 0, run.stderr[-3000:]
    first = _snapshot(admin_engine)
    coinbase_minutes = [row for row in first if row[0] == "coinbase" and row[2] == "1m"]
    assert 100 < len(coinbase_minutes) <= 120  # two hours of a day with a few missing minutes
    assert {row[3].hour for row in coinbase_minutes} == {11, 12}  # type: ignore[attr-defined]
    watermark = _watermark(admin_engine)
    assert watermark is not None and watermark.hour == 12  # type: ignore[attr-defined]

    for logical_date in HOURS:
        again = airflow_env.run_dag("ingest_ohlcv", logical_date, extra_env=env)
        assert again.returncode == 0, again.stderr[-3000:]
    assert _snapshot(admin_engine) == first
    assert _watermark(admin_engine) == watermark
    requests = [record for record in emulator.requests if record.venue == "coinbase"]
    assert requests, "the DAG did not reach the emulator"
