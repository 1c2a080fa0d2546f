from __future__ import annotations

import pytest

from benchmarks import bench_backtest_vectorised


def test_backtest_vectorised_benchmark_reports_both_engines_on_identical_equity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(bench_backtest_vectorised.ROWS_ENV, "20000")
    result = bench_backtest_vectorised.run(runs=1)
    assert result.unit == "seconds" and not result.higher_is_better
    assert result.ours > 0 and result.peer > 0
    assert result.ratio == pytest.approx(result.ours / result.peer)
    assert result.details["rows"] == 20_000
    assert result.details["trades"] > 0
