"""The benchmark harness: a tiny ingest run writes a complete result, and the CLI behaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run
from benchmarks.harness import BenchmarkResult, write_result


def test_ingest_benchmark_tiny_run_writes_complete_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, admin_url: str
) -> None:
    monkeypatch.setenv("TRAIDER_BENCH_REPEATS", "1")
    status = run.main(["ingest", "--rows", "20000", "--results-dir", str(tmp_path)])
    assert status == 0
    document = json.loads((tmp_path / "ingest.json").read_text())
    for key in ("name", "description", "unit", "ours", "peer", "peer_name", "ratio", "target", "higher_is_better"):
        assert key in document
    assert document["name"] == "ingest"
    assert document["unit"] == "rows/s"
    assert document["ours"] > 0 and document["peer"] > 0
    assert len(document["ours_runs"]) == len(document["peer_runs"]) == 1
    assert document["ratio"] == pytest.approx(document["ours"] / document["peer"], rel=1e-12)
    assert document["target"] == 0.8
    assert document["passed"] == (document["ratio"] >= document["target"])
    assert document["details"]["rows"] == 20_000
    assert document["details"]["same_rows_loaded"] is True
    machine = document["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["python"].startswith("3.11")
    assert machine["postgres_server"].split(".")[0].isdigit()
    assert document["written_at"]


def test_benchmark_result_compare_takes_medians_and_honours_direction(tmp_path: Path) -> None:
    faster = BenchmarkResult.compare(
        name="t", description="d", unit="rows/s", ours_runs=[1.0, 9.0, 4.0], peer_runs=[2.0, 5.0, 8.0],
        peer_name="p", target=0.8,
    )  # fmt: skip
    assert (faster.ours, faster.peer, faster.ratio, faster.passed) == (4.0, 5.0, 0.8, True)
    slower = BenchmarkResult.compare(
        name="t", description="d", unit="s", ours_runs=[3.0], peer_runs=[2.0], peer_name="p", target=1.2,
        higher_is_better=False,
    )  # fmt: skip
    assert (slower.ratio, slower.passed) == (1.5, False)
    path = write_result(slower, tmp_path)
    assert json.loads(path.read_text())["passed"] is False


def test_run_unknown_benchmark_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["nope"]) == 2
    known = ", ".join(run.available())
    assert {"ingest", "ingest_files", "backtest_vectorised"} <= set(run.available())
    assert f"unknown benchmark(s): nope; available: {known}" in capsys.readouterr().err


def test_run_help_explains_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert f"Available: {', '.join(run.available())}" in " ".join(out.split())
    assert "--rows" in out and "TRAIDER_BENCH_REPEATS" in out
