"""Run the benchmarks: `python -m benchmarks.run [NAME ...]` (all `benchmarks/bench_*.py` by default).

Each benchmark module has `run() -> BenchmarkResult`; its result is written to
benchmarks/results/<name>.json and printed. A missed target is reported clearly but is not an
error: the exit status is 0 unless a benchmark could not run at all (1) or a name is unknown (2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from pathlib import Path

from benchmarks.harness import REPEATS_ENV, RESULTS_DIR_ENV, summary_line, write_result

BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Return the names of the benchmarks (`bench_<name>.py` modules), sorted."""
    return sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=(
            "Run TRAIDER's benchmarks against their peers on this machine and write "
            "benchmarks/results/<name>.json. Available: " + ", ".join(names) + "."
        ),
        epilog=(
            "Options are passed to the benchmarks through the environment: --rows sets "
            "TRAIDER_BENCH_<NAME>_ROWS, --repeats sets TRAIDER_BENCH_REPEATS, --results-dir sets "
            "TRAIDER_BENCH_RESULTS_DIR. Exit status: 0 when every benchmark ran (even if a target was "
            "missed), 1 when one failed to run, 2 for an unknown name."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--rows", type=int, help="rows of data for the selected benchmarks")
    parser.add_argument("--repeats", type=int, help="runs of each side; the median is reported (default 3)")
    parser.add_argument("--results-dir", type=Path, help="directory for the JSON results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and return the exit status."""
    args = parse_args(argv)
    names = args.names or available()
    unknown = [name for name in names if name not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    if args.repeats is not None:
        os.environ[REPEATS_ENV] = str(args.repeats)
    if args.results_dir is not None:
        os.environ[RESULTS_DIR_ENV] = str(args.results_dir)
    status = 0
    summaries = []
    for name in names:
        if args.rows is not None:
            os.environ[f"TRAIDER_BENCH_{name.upper()}_ROWS"] = str(args.rows)
        print(f"== benchmark {name}", flush=True)
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            result = module.run()
        except Exception:
            traceback.print_exc()
            summaries.append(f"FAILED TO RUN: {name}")
            status = 1
            continue
        write_result(result)
        summaries.append(summary_line(result))
    print("== summary")
    for line in summaries:
        print(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
