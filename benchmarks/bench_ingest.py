"""Ingest: the bulk writer into market.ohlcv versus `psql \\copy` of a CSV into an identical table.

Both sides load the same rows (several symbols of 1-minute bars, consistent OHLC, fixed seed) into
tables with the same definition (the peer's is `LIKE market.ohlcv INCLUDING ALL`, partitioned by
month the same way, partitions created beforehand for both) on the same server, with the server's
own settings. The bulk writer runs as traider_app from an in-memory DataFrame; psql reads a CSV file
written beforehand, outside the timing. The sides run interleaved on emptied tables (TRUNCATE and
CHECKPOINT before each run) and the median rows per second of each is reported.

Rows: TRAIDER_BENCH_INGEST_ROWS (default 1,000,000). Runs per side: TRAIDER_BENCH_REPEATS (default 3).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy.engine import URL

from benchmarks.harness import BenchmarkResult, machine_info, repeats
from traider.db import copy_binary, migrate
from traider.db.bulk import write_rows
from traider.db.engine import make_engine
from traider.db.url import libpq_dsn, parse_database_url

NAME = "ingest"
ROWS_ENV = "TRAIDER_BENCH_INGEST_ROWS"
DEFAULT_ROWS = 1_000_000
TARGET = 0.8
MACHINE_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
OURS = "market.ohlcv"
PEER = "bench.ohlcv_peer"
COLUMNS = ("venue", "symbol", "timeframe", "ts", "open", "high", "low", "close", "volume")
# symbol: (first price, decimals of the price tick)
SYMBOLS = {
    "BTC/USDT": (42_000.0, 2),
    "ETH/USDT": (2_300.0, 2),
    "SOL/USDT": (100.0, 3),
    "XRP/USDT": (0.6, 4),
    "DOGE/USDT": (0.08, 5),
}
SEED = 20_261_123


def make_bars(rows: int, seed: int = SEED) -> pd.DataFrame:
    """Return `rows` 1-minute OHLCV bars, series after series, with consistent OHLC and exchange ticks."""
    rng = np.random.default_rng(seed)
    per_symbol = -(-rows // len(SYMBOLS))
    start = np.datetime64("2024-01-01T00:00", "us")
    frames = []
    for symbol, (first, decimals) in SYMBOLS.items():
        steps = rng.normal(0.0, 5e-4, per_symbol)
        close = first * np.exp(np.cumsum(steps))
        open_ = np.concatenate([[first], close[:-1]])
        wick_up = np.abs(rng.normal(0.0, 3e-4, per_symbol))
        wick_down = np.abs(rng.normal(0.0, 3e-4, per_symbol))
        frames.append(
            pd.DataFrame(
                {
                    "venue": "binance",
                    "symbol": symbol,
                    "timeframe": "1m",
                    "ts": pd.Series(start + np.arange(per_symbol) * np.timedelta64(1, "m")).dt.tz_localize("UTC"),
                    "open": np.round(open_, decimals),
                    "high": np.round(np.maximum(open_, close) * (1 + wick_up), decimals),
                    "low": np.round(np.minimum(open_, close) * (1 - wick_down), decimals),
                    "close": np.round(close, decimals),
                    "volume": np.round(rng.lognormal(3.0, 1.0, per_symbol), 4),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True).iloc[:rows].reset_index(drop=True)
    for name in ("venue", "symbol", "timeframe"):
        frame[name] = frame[name].astype("str")
    return frame


@contextmanager
def postgres_server() -> Iterator[tuple[str, str]]:
    """Yield (admin URL, psql executable): the machine's server if it answers, else an embedded one."""
    try:
        with psycopg.connect(MACHINE_ADMIN_URL, connect_timeout=3):
            pass
        psql = shutil.which("psql")
        if psql is not None:
            yield MACHINE_ADMIN_URL, psql
            return
        yield MACHINE_ADMIN_URL, str(_embedded_psql())
        return
    except psycopg.OperationalError:
        pass
    from pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="traider-bench-pg-") as directory:
        Path(directory).chmod(0o755)
        server = get_server(Path(directory) / "pg", cleanup_mode="stop")
        yield str(server.get_uri()), str(_embedded_psql())


def _embedded_psql() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / "psql"


@contextmanager
def bench_database(admin_url: str) -> Iterator[URL]:
    """Create and migrate a throwaway database, yield its URL, drop it afterwards."""
    name = f"traider_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = parse_database_url(admin_url, setting="benchmark server").set(database=name)
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _prepare_tables(admin: psycopg.Connection[Any], frame: pd.DataFrame) -> None:
    """Create the peer table like market.ohlcv and every partition both tables need."""
    admin.execute("CREATE SCHEMA bench")
    admin.execute(f"CREATE TABLE {PEER} (LIKE {OURS} INCLUDING ALL) PARTITION BY RANGE (ts)")
    first, last = frame["ts"].min().to_pydatetime(), frame["ts"].max().to_pydatetime()
    for table in (OURS, PEER):
        admin.execute("SELECT ops.ensure_monthly_partitions(%s::regclass, %s, %s)", (table, first, last))
    admin.execute("GRANT USAGE ON SCHEMA bench TO traider_app")
    admin.execute(f"GRANT SELECT, INSERT ON {PEER} TO traider_app")


def _definition(admin: psycopg.Connection[Any], table: str) -> dict[str, list[str]]:
    """Return a table's constraints, indexes and partitions, with its own name taken out."""
    constraints = admin.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1", (table,)
    ).fetchall()
    indexes = admin.execute(
        "SELECT regexp_replace(indexdef, 'INDEX \\S+ ON \\S+', 'INDEX ON') FROM pg_indexes "
        "WHERE schemaname || '.' || tablename = %s ORDER BY 1",
        (table,),
    ).fetchall()
    partitions = admin.execute(
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY 1",
        (table,),
    ).fetchall()
    return {
        "constraints": [row[0] for row in constraints],
        "indexes": [row[0].replace(table, "T") for row in indexes],
        "partitions": [row[0] for row in partitions],
    }


def _reset(admin: psycopg.Connection[Any], table: str) -> None:
    admin.execute(f"TRUNCATE {table}")
    with suppress(psycopg.errors.InsufficientPrivilege):
        admin.execute("CHECKPOINT")


def _fingerprint(admin: psycopg.Connection[Any], table: str) -> tuple[Any, ...]:
    row = admin.execute(
        f"SELECT count(*), count(DISTINCT symbol), min(ts), max(ts), sum(open::numeric), sum(high::numeric), "
        f"sum(low::numeric), sum(close::numeric), sum(volume::numeric) FROM {table}"
    ).fetchone()
    assert row is not None
    return tuple(row)


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    outcome = action()
    return time.perf_counter() - started, outcome


def run(*, rows: int | None = None, runs: int | None = None) -> BenchmarkResult:
    """Measure both sides and return the result (rows per second, higher is better)."""
    count = rows if rows is not None else int(os.environ.get(ROWS_ENV, DEFAULT_ROWS))
    runs = runs if runs is not None else repeats()
    frame = make_bars(count)
    encoding = _encoding(frame)
    with (
        postgres_server() as (admin_url, psql),
        bench_database(admin_url) as url,
        tempfile.TemporaryDirectory(prefix="traider-bench-") as scratch,
    ):
        csv = Path(scratch) / "ohlcv.csv"
        frame.to_csv(csv, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S+00:00")
        dsn = libpq_dsn(url)
        app = make_engine(url, role="traider_app")
        with psycopg.connect(dsn, autocommit=True) as admin:
            _prepare_tables(admin, frame)
            definitions = {table: _definition(admin, table) for table in (OURS, PEER)}
            if definitions[OURS] != definitions[PEER]:
                raise RuntimeError(f"the peer table differs from {OURS}: {definitions}")
            server_version = admin.execute("SHOW server_version").fetchone()
            settings: dict[str, str] = dict(
                admin.execute(
                    "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ('shared_buffers', 'fsync', "
                    "'synchronous_commit', 'wal_level', 'max_wal_size', 'temp_buffers', 'full_page_writes')"
                ).fetchall()
            )
            command = [
                psql, dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                f"\\copy {PEER} ({', '.join(COLUMNS)}) FROM '{csv}' WITH (FORMAT csv)",
            ]  # fmt: skip

            def ours() -> Any:
                return write_rows(app, OURS, frame)

            def peer() -> Any:
                return subprocess.run(command, check=True, capture_output=True, text=True)

            ours_runs, peer_runs = _interleaved(admin, ours, peer, runs=runs, count=count)
            same_rows = _fingerprint(admin, OURS) == _fingerprint(admin, PEER)
            if not same_rows:
                raise RuntimeError("the two tables hold different rows after loading the same data")
            details = _details(
                admin, app, encoding=encoding, frame=frame, count=count, csv=csv, definition=definitions[OURS]
            )
        app.dispose()
    return BenchmarkResult.compare(
        name=NAME,
        description=(
            f"Load {count:,} OHLCV rows ({len(SYMBOLS)} symbols x 1-minute bars) into market.ohlcv with "
            "traider.db.bulk.write_rows as traider_app, versus psql \\copy of the same rows from a CSV "
            "file into an identical partitioned table; median of interleaved runs on emptied tables."
        ),
        unit="rows/s",
        ours_runs=ours_runs,
        peer_runs=peer_runs,
        peer_name="psql \\copy (CSV)",
        target=TARGET,
        details=details,
        machine=machine_info(
            postgres_server=server_version[0] if server_version else None,
            postgres_settings=settings,
            psql=subprocess.run([psql, "--version"], check=False, capture_output=True, text=True).stdout.strip(),
        ),
    )


def _interleaved(
    admin: psycopg.Connection[Any], ours: Callable[[], Any], peer: Callable[[], Any], *, runs: int, count: int
) -> tuple[list[float], list[float]]:
    """Run both sides `runs` times, alternating which goes first, each on its emptied table; return rows/s."""
    rates: dict[str, list[float]] = {"ours": [], "peer": []}
    for attempt in range(runs):
        order = [("ours", OURS, ours), ("peer", PEER, peer)]
        for side, table, action in order if attempt % 2 == 0 else reversed(order):
            _reset(admin, table)
            seconds, outcome = _timed(action)
            stored = _fingerprint(admin, table)[0]
            if stored != count or (side == "ours" and outcome.inserted != count):
                raise RuntimeError(f"{side} stored {stored} rows instead of {count}")
            rates[side].append(count / seconds)
    return rates["ours"], rates["peer"]


def _encoding(frame: pd.DataFrame) -> dict[str, Any]:
    """Time the vectorised encoding of the whole frame alone (best of 3), without a database."""
    columns = [frame[name] for name in COLUMNS]
    types = ["text", "text", "text", "timestamptz"] + ["float8"] * 5
    encodings = [_timed(lambda: copy_binary.encode(columns, types)) for _ in range(3)]
    seconds, payload = min(encodings, key=lambda timed: timed[0])
    return {
        "binary_copy_bytes": len(payload),
        "encode_seconds_best_of_3": round(seconds, 4),
        "encode_rows_per_s": round(len(frame) / seconds),
    }


def _details(
    admin: psycopg.Connection[Any],
    app: Any,
    *,
    encoding: dict[str, Any],
    frame: pd.DataFrame,
    count: int,
    csv: Path,
    definition: dict[str, list[str]],
) -> dict[str, Any]:
    """Measure once each the staging path forced and a reload of rows already stored."""
    from traider.config import get_settings

    _reset(admin, OURS)
    staging_seconds, staged = _timed(lambda: write_rows(app, OURS, frame, direct=False))
    reload_seconds, reloaded = _timed(lambda: write_rows(app, OURS, frame))
    if staged.inserted != count or reloaded.skipped != count:
        raise RuntimeError("the staging path or the reload did not store each row exactly once")
    return {
        "rows": count,
        "symbols": list(SYMBOLS),
        "first_ts": str(frame["ts"].min()),
        "last_ts": str(frame["ts"].max()),
        "partitions": len(definition["partitions"]),
        "batch_rows": get_settings().bulk_batch_rows,
        "csv_bytes": csv.stat().st_size,
        **encoding,
        "staging_path_rows_per_s": round(count / staging_seconds),
        "reload_all_duplicates_rows_per_s": round(count / reload_seconds),
        "tables_identical": True,
        "same_rows_loaded": True,
    }
