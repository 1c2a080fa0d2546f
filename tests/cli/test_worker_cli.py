"""`traider worker` as a user runs it: refusals, and a paper session on the live feed of the stream emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from tests.cli.test_cli import _assert_one_line_error, traider
from traider.marketdata.emulator import ExchangeEmulator
from traider.marketdata.emulator.websocket import BinanceStreamEmulator

WORKER = ("worker", "--venue", "binance", "--symbol", "NKN/USDT", "--timeframe", "1s")


def test_live_mode_refuses_without_the_explicit_setting_and_names_it(database_url: URL) -> None:
    environment = {"TRAIDER_DATABASE_URL": database_url.render_as_string(hide_password=False)}
    result = traider(*WORKER, "--mode", "live", "--strategy", "ema_crossover", env=environment)
    _assert_one_line_error(result, "TRAIDER_LIVE_TRADING")
    enabled = {**environment, "TRAIDER_LIVE_TRADING": "enabled"}
    result = traider(*WORKER, "--mode", "live", "--strategy", "ema_crossover", env=enabled)
    _assert_one_line_error(result, "TRAIDER_BINANCE_API_KEY", "TRAIDER_BINANCE_API_SECRET")


def test_live_mode_refuses_a_stored_feed(database_url: URL) -> None:
    environment = {"TRAIDER_DATABASE_URL": database_url.render_as_string(hide_password=False)}
    result = traider(*WORKER, "--mode", "live", "--feed", "stored", "--strategy", "ema_crossover", env=environment)
    _assert_one_line_error(result, "--mode live trades on the live feed only")


def test_a_paper_session_on_the_live_feed_trades_and_stops_cleanly_on_sigterm(
    clean_tables: Engine, database_url: URL, shared_data: Path
) -> None:
    with (
        ExchangeEmulator(shared_data, venues=["binance"]) as rest,
        BinanceStreamEmulator(shared_data, speed=1.0, rest_upstream=rest.base_url("binance")) as streams,
    ):
        environment = {key: value for key, value in os.environ.items() if not key.startswith("TRAIDER_")}
        environment.update(
            {
                "TRAIDER_DATABASE_URL": database_url.render_as_string(hide_password=False),
                "TRAIDER_EXCHANGE_STREAM_EMULATOR_URL": streams.url,
            }
        )
        command = [sys.executable, "-m", "traider", *WORKER, "--feed", "live", "--strategy", "ema_crossover"]
        command += ["--param", "fast=2", "--param", "slow=3", "--param", "allow_short=true"]
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 40.0
            while time.monotonic() < deadline and _snapshots(clean_tables) < 8:
                time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
    printed = output.decode(errors="replace")
    assert process.returncode == 0, printed
    assert _snapshots(clean_tables) >= 8, printed  # a P&L snapshot per 1 s bar built from the live book
    assert "bars traded" in printed
    with clean_tables.connect() as connection:
        beats = connection.execute(
            text("SELECT count(*) FROM ops.heartbeats WHERE component = 'worker:paper:binance:NKN/USDT'")
        ).scalar_one()
    assert beats >= 2


def _snapshots(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM trading.pnl_snapshots")).scalar_one())


pytestmark = pytest.mark.timeout(120)
