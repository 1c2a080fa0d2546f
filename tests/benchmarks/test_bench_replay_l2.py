"""The replay_l2 benchmark on the shared Binance recording, and the harness's absolute targets it relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bench_replay_l2, run
from benchmarks.harness import BenchmarkResult, summary_line
from traider.marketdata.orderbook import OrderBook


def test_replay_first_pass_maintains_the_book_rebuilt_from_the_recordings(shared_data: Path) -> None:
    replay = bench_replay_l2.load_replay(shared_data)
    assert replay.symbol == "NKNUSDT" and replay.events_per_pass > 300
    assert replay.recorded_diffs > len(replay.diffs) > 100  # the diff(s) the snapshot already covers are dropped
    assert replay.diffs[-1][3] == replay.rebuilt.sequence
    book, _, _ = bench_replay_l2.replay_ours(replay, 1)
    bid_count, ask_count = replay.rebuilt.depth()
    assert book.bids(bid_count) == replay.rebuilt.bids(bid_count)
    assert book.asks(ask_count) == replay.rebuilt.asks(ask_count)
    assert book.sequence == replay.rebuilt.sequence and bench_replay_l2.same_book(book, replay.rebuilt)
    snapshot_only = OrderBook()
    snapshot_only.apply_snapshot(replay.snapshot_bids, replay.snapshot_asks, replay.last_update_id)
    assert not bench_replay_l2.same_book(snapshot_only, replay.rebuilt)  # the diffs do change the book
    bids, asks, _, _ = bench_replay_l2.replay_raw(replay, 2)
    assert bids == dict(replay.rebuilt.bids(bid_count)) and asks == dict(replay.rebuilt.asks(ask_count))


def test_replay_l2_tiny_run_names_its_unit_and_counts_level_updates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    monkeypatch.setenv(bench_replay_l2.EVENTS_ENV, "2000")
    monkeypatch.setenv("TRAIDER_BENCH_REPEATS", "1")
    assert run.main(["replay_l2", "--results-dir", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "replay_l2.json").read_text())
    assert document["name"] == "replay_l2" and document["unit"] == "level updates/s"
    assert document["higher_is_better"] is True
    assert document["target"] == 1_000_000 and document["target_of"] == "ours"
    assert document["passed"] == (document["ours"] >= 1_000_000)
    assert document["ratio"] == pytest.approx(document["ours"] / document["peer"], rel=1e-12)
    assert len(document["ours_runs"]) == len(document["peer_runs"]) == 1
    details = document["details"]
    assert "level update" in details["event"] and details["symbol"] == "NKNUSDT"
    assert details["events"] == details["passes"] * details["events_per_pass"] >= 2000
    assert (details["passes"] - 1) * details["events_per_pass"] < 2000
    assert details["diff_messages_per_s"] == pytest.approx(
        document["ours"] / details["events_per_pass"] * details["diff_messages_per_pass"]
    )
    assert details["ratio_ours_to_raw_limit"] == pytest.approx(document["ratio"])


def _compare(ours: float, peer: float, target_of: str) -> BenchmarkResult:
    return BenchmarkResult.compare(
        name="t", description="d", unit="events/s", ours_runs=[ours], peer_runs=[peer], peer_name="raw",
        target=100.0, target_of=target_of,
    )  # fmt: skip


def test_absolute_target_is_met_by_ours_whatever_the_ratio() -> None:
    slow_but_enough = _compare(150.0, 600.0, "ours")
    assert (slow_but_enough.ratio, slow_but_enough.passed) == (0.25, True)
    too_slow = _compare(90.0, 10.0, "ours")
    assert (too_slow.ratio, too_slow.passed) == (9.0, False)
    assert "target ours >= 100 events/s" in summary_line(too_slow)
    as_ratio = _compare(90.0, 10.0, "ratio")  # the default: the same figures miss a ratio target of 100
    assert (as_ratio.target_of, as_ratio.passed) == ("ratio", False)
    assert "(target >= 100.0)" in summary_line(as_ratio)
    with pytest.raises(ValueError, match="target_of must be one of ratio, ours"):
        _compare(1.0, 1.0, "peer")
