"""Reliability of `traider worker` as a real process against a real PostgreSQL.

- SIGKILL at 50 random moments of a paper replay, restarting it each time: the orders, fills, positions and
  cash it ends with are those of an uninterrupted run, nothing is doubled or lost, and the audit chain verifies.
- A restart of the PostgreSQL server (one the test starts itself) in the middle of a session: the worker holds,
  reconnects, resumes and ends where an uninterrupted run ends.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from tests.features.market import UNITTEST_5M, load_file, utc
from traider.audit.chain import verify
from traider.db import embedded, migrate
from traider.db.engine import make_engine
from traider.db.url import parse_database_url

TRAIDER = str(Path(sys.executable).parent / "traider")
BARS = 1_200
FIRST_BAR, FIVE_MINUTES = utc(2018, 1, 10, 4, 55), pd.Timedelta(minutes=5)
KILLS = 50
STRATEGY = ("--strategy", "ema_crossover", "--param", "fast=3", "--param", "slow=8", "--param", "allow_short=true")


def _load_bars(engine: Engine, shared_data: Path) -> None:
    load_file(
        engine, shared_data, UNITTEST_5M, until=FIRST_BAR + BARS * FIVE_MINUTES, symbol="BTC/USDT", timeframe="5m"
    )


def _worker(url: URL, *extra: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "TRAIDER_DATABASE_URL": url.render_as_string(hide_password=False)}
    command = [TRAIDER, "worker", "--venue", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m", *STRATEGY, *extra]
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen[bytes], timeout: float = 180.0) -> str:
    output, _ = process.communicate(timeout=timeout)
    text_output = output.decode(errors="replace")
    assert process.returncode == 0, text_output
    return text_output


def _last_bar(engine: Engine) -> object:
    with engine.connect() as connection:
        return connection.execute(text("SELECT last_bar FROM trading.worker_state")).scalar()


def _ledger(engine: Engine) -> dict[str, object]:
    """Everything the worker's trading leaves behind, in a comparable form."""
    with engine.connect() as connection:
        orders = connection.execute(
            text("SELECT client_order_id, side, quantity, status, filled_quantity FROM trading.orders ORDER BY 1")
        ).all()
        fills = connection.execute(
            text("SELECT venue_fill_id, side, quantity, price, fee FROM trading.fills ORDER BY 1")
        ).all()
        positions = connection.execute(text("SELECT symbol, quantity FROM trading.positions ORDER BY 1")).all()
        cash = connection.execute(text("SELECT asset, total FROM trading.balances ORDER BY 1")).all()
        signed = connection.execute(
            text("SELECT coalesce(sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END), 0) FROM trading.fills")
        ).scalar_one()
        doubled = connection.execute(
            text("SELECT count(*) FROM (SELECT order_id FROM trading.fills GROUP BY order_id HAVING count(*) > 1) d")
        ).scalar_one()
        unfilled = connection.execute(
            text("SELECT count(*) FROM trading.orders WHERE status IN ('new', 'open', 'partially_filled')")
        ).scalar_one()
    return {
        "orders": [tuple(row) for row in orders],
        "fills": [tuple(row) for row in fills],
        "positions": [tuple(row) for row in positions],
        "cash": [tuple(row) for row in cash],
        "signed_fills": float(signed),
        "orders_with_two_fills": doubled,
        "orders_left_open": unfilled,
    }


def _assert_same_ledger(got: dict[str, object], expected: dict[str, object]) -> None:
    assert got["orders_with_two_fills"] == 0
    assert got["orders_left_open"] == 0
    assert [row[:2] for row in got["orders"]] == [row[:2] for row in expected["orders"]]  # type: ignore[attr-defined]
    for mine, theirs in zip(got["fills"], expected["fills"], strict=True):  # type: ignore[call-overload]
        assert mine[:2] == theirs[:2]
        assert [float(value) for value in mine[2:]] == pytest.approx([float(value) for value in theirs[2:]], rel=1e-9)
    for (symbol, quantity), (their_symbol, their_quantity) in zip(
        got["positions"],
        expected["positions"],
        strict=True,  # type: ignore[call-overload]
    ):
        assert symbol == their_symbol
        assert float(quantity) == pytest.approx(float(their_quantity), rel=1e-9, abs=1e-9)
    assert float(got["positions"][0][1]) == pytest.approx(got["signed_fills"], rel=1e-9, abs=1e-9)  # type: ignore[index]
    assert [float(row[1]) for row in got["cash"]] == pytest.approx(  # type: ignore[attr-defined]
        [float(row[1]) for row in expected["cash"]],
        rel=1e-9,  # type: ignore[attr-defined]
    )


@pytest.fixture
def reference_ledger(
    new_database: Callable[..., AbstractContextManager[URL]], shared_data: Path
) -> Iterator[dict[str, object]]:
    """The ledger of one uninterrupted run of the worker process over the same bars."""
    with new_database() as url:
        engine = make_engine(url)
        _load_bars(engine, shared_data)
        _finish(_worker(url))
        ledger = _ledger(engine)
        engine.dispose()
    assert len(ledger["orders"]) > 100  # type: ignore[arg-type]  # enough trading for kills to land near orders
    yield ledger


def test_sigkill_at_50_random_moments_loses_and_doubles_nothing(
    new_database: Callable[..., AbstractContextManager[URL]], shared_data: Path, reference_ledger: dict[str, object]
) -> None:
    rng = random.Random(20261124)
    with new_database() as url:
        engine = make_engine(url)
        _load_bars(engine, shared_data)
        kills = 0
        while kills < KILLS:
            before = _last_bar(engine)
            process = _worker(url, "--pace", "0.004")
            deadline = time.monotonic() + 30.0
            while _last_bar(engine) == before and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)  # wait until this life has traded at least one bar
            time.sleep(rng.uniform(0.0, 0.25))
            if process.poll() is not None:
                break  # it reached the end of the replay before this kill
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        assert kills == KILLS
        _finish(_worker(url))  # the last life runs to the end
        ledger = _ledger(engine)
        with engine.connect() as connection:
            report = verify(connection)
        engine.dispose()
    _assert_same_ledger(ledger, reference_ledger)
    assert report.ok, report.first_break
    assert report.rows_checked >= len(ledger["orders"]) + len(ledger["fills"])  # type: ignore[arg-type]


def test_a_postgresql_restart_mid_session_is_held_through_and_loses_nothing(
    shared_data: Path, reference_ledger: dict[str, object]
) -> None:
    with tempfile.TemporaryDirectory(prefix="traider-pg-restart-") as directory:
        Path(directory).chmod(0o755)
        pgdata = Path(directory) / "pg"
        url = parse_database_url(embedded.start(pgdata), setting="test server")
        try:
            engine = make_engine(url)
            migrate.upgrade(engine)
            _load_bars(engine, shared_data)
            process = _worker(url, "--pace", "0.005")
            deadline = time.monotonic() + 30.0
            while _last_bar(engine) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)
            engine.dispose()
            assert embedded.stop(pgdata)
            time.sleep(2.0)  # the server is down for two seconds while the worker holds
            assert process.poll() is None, "the worker died with its database"
            embedded.start(pgdata)
            output = _finish(process)
            ledger = _ledger(engine)
            with engine.connect() as connection:
                report = verify(connection)
                alerts = connection.execute(
                    text("SELECT count(*) FROM ops.alerts WHERE message LIKE 'database connection was lost%'")
                ).scalar_one()
            engine.dispose()
        finally:
            embedded.stop(pgdata)
    _assert_same_ledger(ledger, reference_ledger)
    assert report.ok, report.first_break
    assert alerts >= 1, output
