"""What every benchmark reports, and where: one JSON file per benchmark in benchmarks/results/.

A result compares our figure with a peer's (or a raw limit) measured on the same machine and the
same data: `ratio` is always ours / peer, and `passed` says whether it meets `target` (at least the
target when higher is better, at most it otherwise). `target_of` says what the target applies to: the
ratio (the default) or, for a benchmark whose goal is an absolute figure, `ours` itself (in `unit`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS_DIR_ENV = "TRAIDER_BENCH_RESULTS_DIR"
REPEATS_ENV = "TRAIDER_BENCH_REPEATS"
TARGET_OF = ("ratio", "ours")


@dataclass(frozen=True)
class BenchmarkResult:
    """One benchmark's outcome: medians of ours and the peer's runs, their ratio and the target."""

    name: str
    description: str
    unit: str
    ours: float
    peer: float
    peer_name: str
    ratio: float
    target: float
    higher_is_better: bool
    passed: bool
    ours_runs: tuple[float, ...] = ()
    peer_runs: tuple[float, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    target_of: str = "ratio"  # "ratio" (ours / peer) or "ours" (an absolute figure in `unit`)

    @classmethod
    def compare(
        cls,
        *,
        name: str,
        description: str,
        unit: str,
        ours_runs: list[float],
        peer_runs: list[float],
        peer_name: str,
        target: float,
        higher_is_better: bool = True,
        details: dict[str, Any] | None = None,
        machine: dict[str, Any] | None = None,
        target_of: str = "ratio",
    ) -> BenchmarkResult:
        """Build a result from the individual runs: medians, ratio ours / peer, pass or miss.

        The target applies to the ratio, or with `target_of="ours"` to our median itself.
        """
        if target_of not in TARGET_OF:
            raise ValueError(f"target_of must be one of {', '.join(TARGET_OF)}, not {target_of!r}")
        ours = statistics.median(ours_runs)
        peer = statistics.median(peer_runs)
        ratio = ours / peer
        measured = ratio if target_of == "ratio" else ours
        passed = measured >= target if higher_is_better else measured <= target
        return cls(
            name=name,
            description=description,
            unit=unit,
            ours=ours,
            peer=peer,
            peer_name=peer_name,
            ratio=ratio,
            target=target,
            higher_is_better=higher_is_better,
            passed=passed,
            ours_runs=tuple(ours_runs),
            peer_runs=tuple(peer_runs),
            details=details or {},
            machine=machine or {},
            target_of=target_of,
        )


def repeats(default: int = 3) -> int:
    """Return how many times each side runs (TRAIDER_BENCH_REPEATS, default 3)."""
    value = int(os.environ.get(REPEATS_ENV, default))
    if value < 1:
        raise ValueError(f"{REPEATS_ENV} must be at least 1, not {value}")
    return value


def machine_info(**extra: Any) -> dict[str, Any]:
    """Describe the machine: CPUs, Python, platform, library versions, plus `extra` (server version...)."""
    import numpy
    import pandas
    import psycopg

    return {
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})",
        **extra,
    }


def write_result(result: BenchmarkResult, directory: Path | None = None) -> Path:
    """Write `<directory>/<name>.json` (default benchmarks/results, or $TRAIDER_BENCH_RESULTS_DIR), print it."""
    target_dir = directory or Path(os.environ.get(RESULTS_DIR_ENV) or RESULTS_DIR)
    target_dir.mkdir(parents=True, exist_ok=True)
    document = asdict(result)
    document["written_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path = target_dir / f"{result.name}.json"
    text = json.dumps(document, indent=2, sort_keys=False, default=str) + "\n"
    path.write_text(text)
    print(text, end="")
    print(summary_line(result))
    print(f"written to {path}")
    return path


def summary_line(result: BenchmarkResult) -> str:
    """Return one line saying whether the target was met, with the figures."""
    relation = ">=" if result.higher_is_better else "<="
    verdict = "PASSED" if result.passed else "MISSED TARGET"
    if result.target_of == "ours":
        target = f"target ours {relation} {result.target:,.0f} {result.unit}"
    else:
        target = f"target {relation} {result.target}"
    return (
        f"{verdict}: {result.name}: ours {_figure(result.ours)} {result.unit} vs {result.peer_name} "
        f"{_figure(result.peer)} {result.unit}, ratio {result.ratio:.3f} ({target})"
    )


def _figure(value: float) -> str:
    """Format a measurement: thousands separators for large numbers, four significant digits for small ones."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"
