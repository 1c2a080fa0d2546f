"""The ingest_files benchmark: one run of each side on the shared files writes a complete result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run


def test_ingest_files_benchmark_one_repeat_writes_complete_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    monkeypatch.setenv("TRAIDER_BENCH_REPEATS", "1")
    assert run.main(["ingest_files", "--results-dir", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "ingest_files.json").read_text())
    assert document["name"] == "ingest_files"
    assert document["unit"] == "rows/s"
    assert document["higher_is_better"] is True
    assert document["target"] == 0.5
    assert document["ours"] > 0 and document["peer"] > 0
    assert len(document["ours_runs"]) == len(document["peer_runs"]) == 1
    assert document["ratio"] == pytest.approx(document["ours"] / document["peer"], rel=1e-12)
    assert document["passed"] == (document["ratio"] >= document["target"])
    details = document["details"]
    assert details["tables_identical"] is True and details["same_rows_loaded"] is True
    files = details["files"]
    assert set(files) == {"ohlcv", "trades"}
    assert (files["ohlcv"]["rows_loaded"], files["trades"]["rows_loaded"]) == (45_031, 12_477)
    for figures in files.values():
        assert (shared_data / figures["path"]).is_file()
        assert figures["rows_in"] == figures["rows_loaded"] + figures["quarantined"]
        assert figures["ratio"] == pytest.approx(figures["ours_rows_per_s"] / figures["peer_rows_per_s"], rel=1e-3)
    combined = details["combined"]
    assert combined["rows"] == 45_031 + 12_477
    assert document["ours"] == pytest.approx(combined["rows"] / combined["ours_seconds_median"], rel=1e-3)
    profile = details["profile_of_ours"]
    assert set(profile["phases_cumulative_seconds"]) == {"ohlcv", "trades"}
    assert profile["top_self_time"] and profile["top_cumulative_traider"]
    assert document["machine"]["postgres_server"]
