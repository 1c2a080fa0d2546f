"""`traider ingest` from a file, the simulator and a venue through the emulator, as a user runs it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from tests.cli.test_cli import traider
from traider.db.url import libpq_dsn

NewDatabase = Callable[..., AbstractContextManager[URL]]


def _count(url: URL, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return rows


def test_ingest_file_twice_loads_once_and_reports_every_row(new_database: NewDatabase, shared_data: Path) -> None:
    trades = shared_data / "freqtrade" / "tests" / "testdata" / "XRP_ETH-trades.feather"
    with new_database() as url:
        env = {"TRAIDER_DATABASE_URL": libpq_dsn(url), "COLUMNS": "160"}
        first = traider("ingest", "--source", str(trades), "--stream", "trades", "--venue", "binance", env=env)
        assert first.returncode == 0, first.stderr
        assert "│  12,477 │   12,477 │              0 │           0 │" in first.stdout
        second = traider("ingest", "--source", str(trades), "--stream", "trades", "--venue", "binance", env=env)
        assert second.returncode == 0, second.stderr
        assert "│  12,477 │        0 │         12,477 │           0 │" in second.stdout
        assert _count(url, "market.trades") == 12_477


def test_ingest_venue_through_emulator_and_simulator(new_database: NewDatabase) -> None:
    with new_database() as url:
        env = {"TRAIDER_DATABASE_URL": libpq_dsn(url), "COLUMNS": "160"}
        venue = traider(
            "ingest", "--source", "coinbase", "--symbols", "BTC/USD", "--since", "2019-03-29T00:00:00",
            "--until", "2019-03-30T00:00:00", "--emulator", env=env,
        )  # fmt: skip
        assert venue.returncode == 0, venue.stderr
        assert "local exchange emulator" in venue.stdout
        simulated = traider(
            "ingest", "--source", "sim", "--symbols", "BTC/USD", "--since", "2024-01-01", "--until", "2024-01-01T06:00",
            env=env,
        )  # fmt: skip
        assert simulated.returncode == 0, simulated.stderr
        assert _count(url, "market.ohlcv WHERE venue = 'coinbase'") == 1_382  # the recorded day, all of it
        assert _count(url, "market.ohlcv WHERE venue = 'sim'") == 360


def test_ingest_unknown_source_gives_one_line_and_exit_2() -> None:
    result = traider("ingest", "--source", "nowhere", env={"TRAIDER_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no venue of config/marketdata.yaml" in result.stderr
