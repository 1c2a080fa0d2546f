"""Benchmark `dbt_features`: a dbt build of the feature models against the same compiled SQL run with psql.

The data: the shared files the feature tests use (freqtrade UNITTEST/BTC and XRP/ETH 5m bars,
XRP/USDT:USDT perpetual bars and funding, XRP/ETH trades, tardis book snapshots), loaded with the
project's loader into a fresh migrated database and passed by the real quality gate (untimed). With
TRAIDER_BENCH_DBT_FEATURES_ROWS (`--rows N`) about N more 5m bars are added: copies of the UNITTEST/BTC
series under other symbols, to show how the ratio moves with the data.

Ours: `dbt run --full-refresh` of the project (models only: the on-run-start hooks and the 13 models,
with dbt's metadata queries, renames, indexes, grants, column comments and `analyze` post-hooks), timed
as the process the feature build starts (`python -m dbt.cli.main`, interpreter start and project
parsing included). The peer: the SQL dbt executed, from `target/run/` after that run (each model's
`create view|table ... as (compiled select)`, written to the final relation names), plus the compiled
hooks and, after each table, the indexes of its config and its `analyze`, in dbt's order, run by one
`psql -f`. Both start from dropped feature schemas; after each run the marts must hold the same rows.
The ratio is ours / psql (lower is better). A `dbt build` (models plus their unit and data tests) is
timed once and reported alongside.

Target: ratio <= 3.0. dbt's cost is mostly fixed (interpreter and imports ~2 s, parsing, tens of
milliseconds of bookkeeping per node), so on the small shared data the ratio is far above it; it falls
as the SQL work grows (see `details.fixed_overhead_seconds` and `--rows`).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from sqlalchemy import Engine

from benchmarks.bench_ingest import bench_database, postgres_server
from benchmarks.harness import BenchmarkResult, machine_info, repeats
from traider.config import Settings
from traider.db.bulk import write_rows
from traider.db.engine import make_engine
from traider.db.url import libpq_dsn
from traider.features.dbt_runner import PROJECT_DIR
from traider.features.profile import dbt_environment
from traider.marketdata.files import open_file_source
from traider.marketdata.loader import load_batches
from traider.quality.gate import check_table

NAME = "dbt_features"
ROWS_ENV = "TRAIDER_BENCH_DBT_FEATURES_ROWS"
TARGET = 3.0
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FREQTRADE = SHARED_DATA / "freqtrade" / "tests" / "testdata"
FILES: tuple[tuple[Path, dict[str, str]], ...] = (
    (FREQTRADE / "UNITTEST_BTC-5m.feather", {}),
    (FREQTRADE / "futures" / "XRP_USDT_USDT-5m-futures.feather", {}),
    (FREQTRADE / "XRP_ETH-5m.feather", {}),
    (FREQTRADE / "XRP_ETH-trades.feather", {}),
    (SHARED_DATA / "nautilus_trader/tests/test_data/tardis/binance-futures_book_snapshot_25_BTCUSDT.csv",
     {"symbol": "BTC/USDT:USDT"}),
)  # fmt: skip
FUNDING = FREQTRADE / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather"
WINDOWS = (  # (table, start, end): the windows the real data passes (the perpetual's jumps are left out)
    ("ohlcv", "2018-01-10T04:55:00+00:00", "2018-01-30T04:55:00+00:00"),
    ("ohlcv", "2021-11-15T00:00:00+00:00", "2021-11-16T10:00:00+00:00"),
    ("ohlcv", "2021-11-18T02:00:00+00:00", "2021-11-21T22:35:00+00:00"),
    ("ohlcv", "2019-10-11T00:00:00+00:00", "2019-10-13T11:20:00+00:00"),
    ("funding_rates", "2021-11-18T00:00:00+00:00", "2021-12-18T08:00:00+00:00"),
    ("trades", "2019-10-11T00:00:00+00:00", "2019-10-13T11:20:00+00:00"),
    ("book_snapshots", "2020-09-01T00:00:00+00:00", "2020-09-01T00:01:00+00:00"),
)
SCHEMAS = ("staging", "intermediate", "features")
FINGERPRINT = (
    "SELECT count(*), count(rsi_14), count(funding_rate), count(order_flow_imbalance), sum(close), "
    "sum(macd_hist), (SELECT count(fwd_return_24) FROM features.training_set) FROM features.features"
)


def load(engine: Engine, extra_rows: int, home: Path) -> dict[str, int]:
    """Load the shared data (plus `extra_rows` bars copied from UNITTEST/BTC) and pass the quality gate."""
    loaded: dict[str, int] = {}
    for path, hints in FILES:
        source = open_file_source(path, venue="binance", **hints)
        (stream,) = source.streams
        loaded[path.name] = load_batches(engine, stream, source.read()).loaded
    funding = pd.concat(batch.frame for batch in open_file_source(FUNDING, venue="binance").read())
    loaded[FUNDING.name] = write_rows(engine, "market.funding_rates", funding.drop(columns=["index_price"])).inserted
    if extra_rows > 0:
        base = pd.concat(batch.frame for batch in open_file_source(FILES[0][0], venue="binance").read())
        copies = -(-extra_rows // len(base))
        for copy in range(1, copies + 1):
            scaled = base.assign(symbol=f"COPY{copy}/BTC")
            scaled[["open", "high", "low", "close"]] *= 1 + copy / 1000
            write_rows(engine, "market.ohlcv", scaled)
        loaded["copies_of_UNITTEST_BTC-5m"] = copies * len(base)
    for number, (table, start, end) in enumerate(WINDOWS):
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
        check_table(engine, table, first, last, f"bench-{number}", home=home)
    return loaded


def _drop_schemas(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        for schema in SCHEMAS:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _fingerprint(dsn: str) -> tuple[Any, ...]:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(FINGERPRINT).fetchone()
    assert row is not None
    return tuple(round(value, 6) if isinstance(value, float) else value for value in row)


def _dbt(command: list[str], target: Path, environment: dict[str, str]) -> float:
    arguments = [
        sys.executable, "-m", "dbt.cli.main", *command, "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR), "--target-path", str(target), "--log-path", str(target / "logs"),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(arguments, env=environment, capture_output=True, text=True, check=False, cwd=PROJECT_DIR)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(command)} failed:\n{done.stdout[-3000:]}")
    return elapsed


def peer_script(target: Path) -> str:
    """Return the SQL dbt ran in its last run as one psql script, in dbt's order.

    The compiled on-run-start hooks, then per model the DDL dbt wrote to `target/run/` (written to the
    final relation name) and, for tables, the indexes of its config and the `analyze` post-hook.
    """
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    statements = []
    for result in results:
        unique_id = result["unique_id"]
        if unique_id.startswith("operation."):
            statements.append(result["compiled_code"])
        elif unique_id.startswith("model."):
            (run_file,) = (target / "run" / "traider" / "models").rglob(f"{unique_id.split('.')[-1]}.sql")
            statements.append(re.sub(r"__dbt_tmp\w*", "", run_file.read_text()))
            config, relation = nodes[unique_id]["config"], result["relation_name"]
            for index in config.get("indexes") or []:
                unique = "unique " if index.get("unique") else ""
                method = index.get("type") or "btree"
                statements.append(f"create {unique}index on {relation} using {method} ({', '.join(index['columns'])})")
            if config["materialized"] != "view":
                statements.append(f"analyze {relation}")
    return ";\n".join(statement.strip().rstrip(";") for statement in statements) + ";\n"


def _psql(psql: str, dsn: str, script: Path) -> float:
    started = time.perf_counter()
    subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), dsn], check=True, capture_output=True)
    return time.perf_counter() - started


def run(*, rows: int | None = None, runs: int | None = None) -> BenchmarkResult:
    """Time both sides, interleaved, on the same database and return the result (seconds, lower is better)."""
    extra = rows if rows is not None else int(os.environ.get(ROWS_ENV, "0"))
    runs = runs if runs is not None else repeats()
    with (
        postgres_server() as (admin_url, psql),
        bench_database(admin_url) as url,
        tempfile.TemporaryDirectory(prefix="traider-bench-dbt-") as scratch,
    ):
        home, target, script = Path(scratch) / "home", Path(scratch) / "target", Path(scratch) / "peer.sql"
        engine = make_engine(url, role="traider_app")
        loaded = load(engine, extra, home)
        engine.dispose()
        dsn = libpq_dsn(url)
        environment = {**os.environ, **dbt_environment(url, Settings(database_url=None, home=home))}
        _drop_schemas(dsn)
        first_build = _dbt(["build"], target, environment)  # parses the project and checks everything works
        _drop_schemas(dsn)
        _dbt(["run", "--full-refresh"], target, environment)
        expected = _fingerprint(dsn)
        script.write_text(peer_script(target))
        script_bytes = script.stat().st_size
        ours_runs, peer_runs = [], []
        for _ in range(runs):
            _drop_schemas(dsn)
            ours_runs.append(_dbt(["run", "--full-refresh"], target, environment))
            assert _fingerprint(dsn) == expected
            _drop_schemas(dsn)
            peer_runs.append(_psql(psql, dsn, script))
            assert _fingerprint(dsn) == expected, "psql built different marts than dbt"
        _drop_schemas(dsn)
        build = _dbt(["build"], target, environment)
        server = _server_version(dsn)
        fingerprint = _fingerprint(dsn)
    ours_median, peer_median = statistics.median(ours_runs), statistics.median(peer_runs)
    return BenchmarkResult.compare(
        name=NAME,
        description=__doc__.strip().splitlines()[0] if __doc__ else "",
        unit="seconds",
        ours_runs=ours_runs,
        peer_runs=peer_runs,
        peer_name="psql -f of the SQL dbt ran (target/run + compiled hooks)",
        target=TARGET,
        higher_is_better=False,
        details={
            "ours": "dbt run --full-refresh (models only), whole process",
            "rows_loaded": loaded,
            "extra_rows": extra,
            "features_rows": fingerprint[0],
            "same_marts": True,
            "fixed_overhead_seconds": ours_median - peer_median,
            "dbt_build_with_tests_seconds": build,
            "first_dbt_build_seconds_cold_parse": first_build,
            "peer_script_bytes": script_bytes,
        },
        machine=machine_info(postgres_server=server),
    )


def _server_version(dsn: str) -> str:
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else ""
