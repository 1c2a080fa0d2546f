"""Ingest files: end-to-end loading of the largest shared OHLCV and trade files versus `psql \\copy`.

Ours is the whole path, timed per file: `open_file_source` on the file, read and normalise it,
validate, quarantine the rejects and bulk-write the rest with `load_batches` into market.ohlcv and
market.trades as traider_app. The peer is `psql \\copy` of exactly the same normalised rows (read and
validated once beforehand, outside the timing, and written to a CSV per file) into identical tables
(`LIKE ... INCLUDING ALL`, partitioned by month the same way, partitions created beforehand for
both). The sides run interleaved on emptied tables (TRUNCATE and CHECKPOINT before each run);
the median rows per second of each is reported, per file and combined. After the runs both sides
must hold the same rows, and one extra run of ours under cProfile shows where its time goes.

The files (the largest of each kind in ../shared/data by rows):
- OHLCV: nautilus_trader `btc-perp-20211231-20220201_1m.csv`, 45,031 one-minute bars (a CSV with
  text timestamps; venue not recorded, loaded as ftx BTC-PERP like the reader's tests);
- trades: freqtrade `XRP_ETH-trades.feather`, 12,477 Binance XRP/ETH trades.

Runs per side: TRAIDER_BENCH_REPEATS (default 7: the files are small).
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from sqlalchemy import Engine

from benchmarks.bench_ingest import _definition, _reset, _timed, bench_database, postgres_server
from benchmarks.harness import BenchmarkResult, machine_info, repeats
from traider.db.engine import make_engine
from traider.db.url import libpq_dsn
from traider.marketdata.files import open_file_source
from traider.marketdata.loader import LoadResult, load_batches
from traider.marketdata.records import COLUMNS, Stream
from traider.marketdata.validation import validate

NAME = "ingest_files"
DEFAULT_REPEATS = 7
TARGET = 0.5
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f+00:00"
PROFILE_TOP = 15
# cost centres of the path, as (file ending, function): cumulative seconds under cProfile
PHASES = {
    "open_file_source": ("marketdata/files/dispatch.py", "open_file_source"),
    "read_and_normalise": ("marketdata/files/base.py", "read"),
    "validate": ("marketdata/validation.py", "validate"),
    "quarantine": ("quality/quarantine.py", "quarantine"),
    "bulk_write": ("db/bulk.py", "write_rows"),
    "bulk_staging_path": ("db/bulk.py", "_stage_and_insert"),
    "load_batches_total": ("marketdata/loader.py", "load_batches"),
}


@dataclass
class FileCase:
    """One shared file, its hints, and what reading it gives."""

    label: str
    path: str  # under ../shared/data
    stream: Stream
    hints: dict[str, str]
    why: str
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)  # the normalised, valid rows
    rows_in: int = 0
    rejected: int = 0
    batches: int = 0

    @property
    def file(self) -> Path:
        return SHARED_DATA / self.path

    @property
    def ours_table(self) -> str:
        return self.stream.table

    @property
    def peer_table(self) -> str:
        return f"bench.{self.stream.value}_peer"

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.stream]


def cases() -> list[FileCase]:
    """Return the two files: the largest OHLCV file and the largest trades file in ../shared/data."""
    return [
        FileCase(
            label="ohlcv",
            path="nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv",
            stream=Stream.OHLCV,
            hints={"venue": "ftx", "symbol": "BTC-PERP", "timeframe": "1m"},
            why=(
                "largest OHLCV file by rows (45,031; next: freqtrade UNITTEST_BTC-1m json/feather, 13,681); "
                "venue not recorded upstream, loaded as ftx BTC-PERP like the CSV reader's tests"
            ),
        ),
        FileCase(
            label="trades",
            path="freqtrade/tests/testdata/XRP_ETH-trades.feather",
            stream=Stream.TRADES,
            hints={"venue": "binance"},
            why=(
                "largest trades file by rows (12,477, also in parquet/json.gz/h5; next: tardis trades.csv, "
                "9,999); feather, freqtrade's default format"
            ),
        ),
    ]


def read_reference(case: FileCase) -> None:
    """Read and validate the file once (outside the timing): the rows the peer loads."""
    source = open_file_source(case.file, **case.hints)
    frames, rows_in, rejected, batches = [], 0, 0, 0
    for batch in source.read(case.stream):
        validated = validate(batch.stream, batch.frame, source=batch.source)
        frames.append(validated.valid.loc[:, list(case.columns)])
        rows_in += batch.rows_in
        rejected += len(batch.rejections) + len(validated.rejections)
        batches += 1
    case.rows = pd.concat(frames, ignore_index=True)
    case.rows_in, case.rejected, case.batches = rows_in, rejected, batches
    if len(case.rows) + rejected != rows_in or case.rows.empty:
        raise RuntimeError(f"{case.path}: {rows_in} rows in, {len(case.rows)} valid, {rejected} rejected")


def run(*, runs: int | None = None) -> BenchmarkResult:
    """Measure both sides and return the result (combined rows per second, higher is better)."""
    runs = runs if runs is not None else repeats(DEFAULT_REPEATS)
    files = cases()
    missing = [str(case.file) for case in files if not case.file.is_file()]
    if missing:
        raise FileNotFoundError(f"shared data files not found: {', '.join(missing)}")
    for case in files:
        read_reference(case)
    with (
        postgres_server() as (admin_url, psql),
        bench_database(admin_url) as url,
        tempfile.TemporaryDirectory(prefix="traider-bench-") as scratch,
    ):
        dsn = libpq_dsn(url)
        app = make_engine(url, role="traider_app")
        csvs = {case.label: _write_csv(case, Path(scratch)) for case in files}
        csv_bytes = {label: path.stat().st_size for label, path in csvs.items()}
        with psycopg.connect(dsn, autocommit=True) as admin:
            partitions = _prepare_tables(admin, files)
            server_version = admin.execute("SHOW server_version").fetchone()
            commands = {case.label: _copy_command(psql, dsn, case, csvs[case.label]) for case in files}
            timings = _interleaved(admin, app, files, commands, runs=runs)
            profile = _profile(admin, app, files)
            for case in files:
                _check_identical(admin, case)
        app.dispose()
        psql_version = subprocess.run([psql, "--version"], check=False, capture_output=True, text=True).stdout
    total_rows = sum(len(case.rows) for case in files)
    ours_runs = [total_rows / sum(seconds) for seconds in zip(*timings["ours"].values(), strict=True)]
    peer_runs = [total_rows / sum(seconds) for seconds in zip(*timings["peer"].values(), strict=True)]
    return BenchmarkResult.compare(
        name=NAME,
        description=(
            f"End to end: open_file_source + read/normalise + validate + quarantine + bulk write "
            f"(load_batches as traider_app) of the largest shared OHLCV file ({len(files[0].rows):,} rows) and "
            f"trades file ({len(files[1].rows):,} rows) into market.ohlcv / market.trades, versus psql \\copy of "
            "the same normalised rows from CSVs written beforehand into identical partitioned tables; one psql "
            "process per file, its start-up included. Combined rows/s (both files' rows over both files' time), "
            "median of interleaved runs on emptied tables. Target 0.5: ours also parses, normalises and "
            "validates the raw file while the peer only loads ready rows."
        ),
        unit="rows/s",
        ours_runs=ours_runs,
        peer_runs=peer_runs,
        peer_name="psql \\copy (CSV)",
        target=TARGET,
        details=_details(files, timings, csv_bytes, partitions, profile, runs=runs),
        machine=machine_info(postgres_server=server_version[0] if server_version else None, psql=psql_version.strip()),
    )


def _write_csv(case: FileCase, scratch: Path) -> Path:
    path = scratch / f"{case.label}.csv"
    case.rows.to_csv(path, index=False, header=False, date_format=TIME_FORMAT)
    return path


def _copy_command(psql: str, dsn: str, case: FileCase, csv: Path) -> list[str]:
    copy = f"\\copy {case.peer_table} ({', '.join(case.columns)}) FROM '{csv}' WITH (FORMAT csv)"
    return [psql, dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copy]


def _prepare_tables(admin: psycopg.Connection[Any], files: list[FileCase]) -> dict[str, int]:
    """Create each peer table like its market table, every partition both need; check they are identical."""
    admin.execute("CREATE SCHEMA bench")
    partitions = {}
    for case in files:
        admin.execute(f"CREATE TABLE {case.peer_table} (LIKE {case.ours_table} INCLUDING ALL) PARTITION BY RANGE (ts)")
        first, last = case.rows["ts"].min().to_pydatetime(), case.rows["ts"].max().to_pydatetime()
        for table in (case.ours_table, case.peer_table):
            admin.execute("SELECT ops.ensure_monthly_partitions(%s::regclass, %s, %s)", (table, first, last))
        ours, peer = _definition(admin, case.ours_table), _definition(admin, case.peer_table)
        if ours != peer:
            raise RuntimeError(f"{case.peer_table} differs from {case.ours_table}: {ours} != {peer}")
        partitions[case.label] = len(ours["partitions"])
    return partitions


def _load_file(app: Engine, case: FileCase) -> LoadResult:
    """Ours for one file: the whole path from the file name to committed rows."""
    source = open_file_source(case.file, **case.hints)
    return load_batches(app, case.stream, source.read(case.stream))


def _interleaved(
    admin: psycopg.Connection[Any],
    app: Engine,
    files: list[FileCase],
    commands: dict[str, list[str]],
    *,
    runs: int,
) -> dict[str, dict[str, list[float]]]:
    """Run both sides `runs` times, alternating which goes first; return seconds per side, file and run."""
    seconds: dict[str, dict[str, list[float]]] = {side: {case.label: [] for case in files} for side in ("ours", "peer")}

    def ours() -> None:
        for case in files:
            _reset(admin, case.ours_table)
            took, result = _timed(partial(_load_file, app, case))
            _check_load(admin, case, result)
            seconds["ours"][case.label].append(took)

    def peer() -> None:
        for case in files:
            _reset(admin, case.peer_table)
            took, _ = _timed(partial(subprocess.run, commands[case.label], check=True, capture_output=True))
            _check_count(admin, case.peer_table, len(case.rows))
            seconds["peer"][case.label].append(took)

    for attempt in range(runs):
        for side in (ours, peer) if attempt % 2 == 0 else (peer, ours):
            side()
    return seconds


def _check_load(admin: psycopg.Connection[Any], case: FileCase, result: LoadResult) -> None:
    expected = (case.rows_in, len(case.rows), 0, case.rejected)
    got = (result.rows_in, result.inserted, result.already_stored, result.quarantined)
    if got != expected:
        raise RuntimeError(f"ours loaded {case.path} as (in, inserted, stored, quarantined) {got}, not {expected}")
    _check_count(admin, case.ours_table, len(case.rows))


def _check_count(admin: psycopg.Connection[Any], table: str, expected: int) -> None:
    row = admin.execute(f"SELECT count(*) FROM {table}").fetchone()
    if row is None or row[0] != expected:
        raise RuntimeError(f"{table} holds {row[0] if row else None} rows instead of {expected}")


def _check_identical(admin: psycopg.Connection[Any], case: FileCase) -> None:
    """Raise unless both tables hold exactly the same rows (as multisets of the canonical columns)."""
    names = ", ".join(case.columns)
    for left, right in ((case.ours_table, case.peer_table), (case.peer_table, case.ours_table)):
        row = admin.execute(
            f"SELECT count(*) FROM (SELECT {names} FROM {left} EXCEPT ALL SELECT {names} FROM {right}) AS extra"
        ).fetchone()
        if row is None or row[0] != 0:
            raise RuntimeError(f"{left} holds {row[0] if row else '?'} rows that {right} does not")
    _check_count(admin, case.ours_table, len(case.rows))
    _check_count(admin, case.peer_table, len(case.rows))


Entries = dict[tuple[str, int, str], tuple[int, int, float, float, Any]]


def _profile(admin: psycopg.Connection[Any], app: Engine, files: list[FileCase]) -> dict[str, Any]:
    """Run ours once more under cProfile on emptied tables; return its phases and top cost centres."""
    merged: pstats.Stats | None = None
    per_file = {}
    for case in files:
        _reset(admin, case.ours_table)
        profiler = cProfile.Profile()
        result = profiler.runcall(_load_file, app, case)
        _check_load(admin, case, result)
        stats = pstats.Stats(profiler)
        per_file[case.label] = _phases(stats.stats)  # type: ignore[attr-defined]
        merged = stats if merged is None else merged.add(profiler)
    assert merged is not None
    entries: Entries = merged.stats  # type: ignore[attr-defined]
    by_self = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:PROFILE_TOP]
    ours_only = [item for item in entries.items() if "/traider/" in item[0][0]]
    by_cumulative = sorted(ours_only, key=lambda item: item[1][3], reverse=True)[:PROFILE_TOP]
    return {
        "profiled_seconds": round(sum(tottime for _, _, tottime, _, _ in entries.values()), 4),
        "phases_cumulative_seconds": per_file,
        "top_self_time": [_line(key, value) for key, value in by_self],
        "top_cumulative_traider": [_line(key, value) for key, value in by_cumulative],
    }


def _phases(entries: Entries) -> dict[str, float]:
    """Return the cumulative seconds of each phase of PHASES, plus the batches that took the staging path."""

    def matching(ending: str, function: str) -> list[tuple[int, int, float, float, Any]]:
        return [value for key, value in entries.items() if key[0].endswith(ending) and key[2] == function]

    phases = {name: round(float(sum(value[3] for value in matching(*where))), 4) for name, where in PHASES.items()}
    phases["bulk_staging_path_batches"] = sum(value[1] for value in matching("db/bulk.py", "_stage_and_insert"))
    return phases


def _line(key: tuple[str, int, str], value: tuple[int, int, float, float, Any]) -> str:
    _, calls, tottime, cumtime, _ = value
    return f"{tottime:.4f}s self, {cumtime:.4f}s cum, {calls} calls: {_where(key)}"


def _where(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    if filename == "~":
        return function
    parts = Path(filename).parts
    for anchor in ("site-packages", "src", "lib"):
        if anchor in parts:
            parts = parts[len(parts) - parts[::-1].index(anchor) :]
            break
    return f"{'/'.join(parts[-4:])}:{line}({function})"


def _details(
    files: list[FileCase],
    timings: dict[str, dict[str, list[float]]],
    csv_bytes: dict[str, int],
    partitions: dict[str, int],
    profile: dict[str, Any],
    *,
    runs: int,
) -> dict[str, Any]:
    per_file = {
        case.label: _file_details(case, timings, csv_bytes[case.label], partitions[case.label]) for case in files
    }
    total_rows = sum(len(case.rows) for case in files)
    ours_totals = [sum(seconds) for seconds in zip(*timings["ours"].values(), strict=True)]
    peer_totals = [sum(seconds) for seconds in zip(*timings["peer"].values(), strict=True)]
    return {
        "runs_per_side": runs,
        "files": per_file,
        "combined": {
            "rows": total_rows,
            "ours_seconds_median": round(statistics.median(ours_totals), 4),
            "peer_seconds_median": round(statistics.median(peer_totals), 4),
            "ours_seconds_all_runs": round(sum(ours_totals), 4),
            "peer_seconds_all_runs": round(sum(peer_totals), 4),
            "ours_rows_per_s_all_runs": round(total_rows * runs / sum(ours_totals)),
            "peer_rows_per_s_all_runs": round(total_rows * runs / sum(peer_totals)),
        },
        "profile_of_ours": profile,
        "tables_identical": True,
        "same_rows_loaded": True,
    }


def _file_details(
    case: FileCase, timings: dict[str, dict[str, list[float]]], csv_bytes: int, partitions: int
) -> dict[str, Any]:
    rows = len(case.rows)
    ours = [rows / seconds for seconds in timings["ours"][case.label]]
    peer = [rows / seconds for seconds in timings["peer"][case.label]]
    return {
        "path": case.path,
        "why": case.why,
        "stream": case.stream.value,
        "hints": case.hints,
        "file_bytes": case.file.stat().st_size,
        "rows_in": case.rows_in,
        "rows_loaded": rows,
        "quarantined": case.rejected,
        "batches": case.batches,
        "first_ts": str(case.rows["ts"].min()),
        "last_ts": str(case.rows["ts"].max()),
        "partitions": partitions,
        "peer_csv_bytes": csv_bytes,
        "ours_rows_per_s": round(statistics.median(ours)),
        "peer_rows_per_s": round(statistics.median(peer)),
        "ratio": round(statistics.median(ours) / statistics.median(peer), 4),
        "ours_runs": [round(rate) for rate in ours],
        "peer_runs": [round(rate) for rate in peer],
    }
