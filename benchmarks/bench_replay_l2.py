"""Benchmark `replay_l2`: recorded Binance depth diffs replayed into our L2 order book, in level updates/s.

An event is one price-level update: one [price, amount] entry of a diff's `b` or `a` list (amount 0
removes the level). The data are cryptofeed's Binance spot recordings in ../shared/data: the REST depth
snapshot of NKNUSDT (BINANCE.http.0.0) and its depth@100ms diffs (BINANCE.ws.1.0), which line up by
update id. NKNUSDT is the pair with most diffs (150 of the 177 recorded; the other three pairs have
2-15 each). Decoding happens once, untimed: the emulator's readers parse the files and
`rebuild_binance_book` applies Binance's rules (diffs at or before the snapshot dropped, the first one
bridging it, no gap after) and is the oracle: one pass of the replay must give exactly its book.

Timed, per pass: `apply_snapshot` (timed, but counts no events), then every applied diff in order
through `apply_deltas` (bids then asks, as a diff lists them) with the book's sequence set to the diff's
`u`; at the end of the pass the best bid and ask are read and must equal the rebuild's, never crossed.
Passes repeat until at least 1,000,000 events (TRAIDER_BENCH_REPLAY_EVENTS) have been applied. There is
no peer library, so the peer is the raw limit of any Python book: the same passes over the same decoded
events, each a plain dict set or delete, with the dicts restored from the snapshot at each pass and no
sorted structure. The target is absolute: ours >= 1,000,000 events/s; the ratio to the raw limit is
recorded too.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import BenchmarkResult, machine_info, repeats
from traider.marketdata.orderbook import DepthDiff, Level, OrderBook

EVENTS_ENV = "TRAIDER_BENCH_REPLAY_EVENTS"
ROWS_ENV = "TRAIDER_BENCH_REPLAY_L2_ROWS"  # what `python -m benchmarks.run replay_l2 --rows N` sets
DEFAULT_EVENTS = 1_000_000
TARGET_EVENTS_PER_S = 1_000_000.0
SYMBOL = "NKNUSDT"
UNIT = "level updates/s"

# one applied diff as columns for OrderBook.apply_deltas: sides, prices, amounts, and its final update id
Diff = tuple[list[str], list[float], list[float], int]


@dataclass(frozen=True)
class Replay:
    """The decoded recording of one market: snapshot levels, the diffs Binance's rules apply, the rebuilt book."""

    symbol: str
    last_update_id: int
    snapshot_bids: list[Level]
    snapshot_asks: list[Level]
    diffs: list[Diff]
    rebuilt: OrderBook  # rebuild_binance_book(snapshot, diffs): what one pass must end with
    recorded_diffs: int  # depth diffs of the symbol in the recording, including those the snapshot covers

    @property
    def events_per_pass(self) -> int:
        """Return the level updates one pass applies."""
        return sum(len(sides) for sides, _, _, _ in self.diffs)


def load_replay(data_dir: Path | None = None, symbol: str = SYMBOL) -> Replay:
    """Decode the recorded snapshot and diffs of `symbol` with the emulator's readers and rebuild its book."""
    from traider.marketdata.emulator.data import default_data_dir
    from traider.marketdata.emulator.ws_replay import load_messages, load_snapshots
    from traider.marketdata.orderbook import rebuild_binance_book

    directory = data_dir or default_data_dir()
    snapshot = load_snapshots(directory)[symbol]
    messages = [m.data for m in load_messages(directory) if m.event == "depthUpdate" and m.market_id == symbol]
    applied: list[DepthDiff] = []
    rebuilt = rebuild_binance_book(snapshot, messages, on_diff=lambda _, diff: applied.append(diff))
    initial = rebuild_binance_book(snapshot, [])  # the snapshot alone, its levels parsed the book's way
    bid_count, ask_count = initial.depth()
    diffs: list[Diff] = [
        (
            ["bid"] * len(diff.bids) + ["ask"] * len(diff.asks),
            [price for price, _ in diff.bids] + [price for price, _ in diff.asks],
            [amount for _, amount in diff.bids] + [amount for _, amount in diff.asks],
            diff.final_id,
        )
        for diff in applied
    ]
    if not diffs:
        raise RuntimeError(f"no depth diff of {symbol} follows its snapshot in the recording; nothing to replay")
    return Replay(
        symbol=symbol,
        last_update_id=int(snapshot["lastUpdateId"]),
        snapshot_bids=initial.bids(bid_count),
        snapshot_asks=initial.asks(ask_count),
        diffs=diffs,
        rebuilt=rebuilt,
        recorded_diffs=len(messages),
    )


def replay_ours(replay: Replay, passes: int) -> tuple[OrderBook, float, float]:
    """Run `passes` passes on one OrderBook; return it, the seconds spent on snapshots and on diffs."""
    expected = (replay.rebuilt.best_bid(), replay.rebuilt.best_ask())
    bids, asks, last_id, diffs = replay.snapshot_bids, replay.snapshot_asks, replay.last_update_id, replay.diffs
    book = OrderBook()
    apply_snapshot, apply_deltas = book.apply_snapshot, book.apply_deltas
    clock = time.perf_counter
    snapshot_seconds = diff_seconds = 0.0
    for _ in range(passes):
        started = clock()
        apply_snapshot(bids, asks, last_id)
        applied = clock()
        for sides, prices, amounts, final_id in diffs:
            apply_deltas(sides, prices, amounts)
            book.sequence = final_id
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None or bid > ask or (bid, ask) != expected:
            raise RuntimeError(f"after a pass the book's best bid/ask are {bid}/{ask}, expected {expected}, uncrossed")
        ended = clock()
        snapshot_seconds += applied - started
        diff_seconds += ended - applied
    return book, snapshot_seconds, diff_seconds


def replay_raw(replay: Replay, passes: int) -> tuple[dict[float, float], dict[float, float], float, float]:
    """Run the raw limit: the same passes, plain dicts only; return them and the seconds on snapshots and diffs."""
    snapshot_bids, snapshot_asks, diffs = replay.snapshot_bids, replay.snapshot_asks, replay.diffs
    clock = time.perf_counter
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    snapshot_seconds = diff_seconds = 0.0
    for _ in range(passes):
        started = clock()
        bids, asks = dict(snapshot_bids), dict(snapshot_asks)
        applied = clock()
        for sides, prices, amounts, _ in diffs:
            for side, price, amount in zip(sides, prices, amounts, strict=True):
                levels = bids if side == "bid" else asks
                if amount > 0:
                    levels[price] = amount
                else:
                    levels.pop(price, None)
        ended = clock()
        snapshot_seconds += applied - started
        diff_seconds += ended - applied
    return bids, asks, snapshot_seconds, diff_seconds


def same_book(book: OrderBook, other: OrderBook) -> bool:
    """Return whether two books hold the same levels on both sides and the same sequence."""
    bid_count, ask_count = other.depth()
    return (
        book.depth() == other.depth()
        and book.bids(bid_count) == other.bids(bid_count)
        and book.asks(ask_count) == other.asks(ask_count)
        and book.sequence == other.sequence
    )


def target_events() -> int:
    """Return the level updates to apply at least (TRAIDER_BENCH_REPLAY_EVENTS, else --rows, else 1,000,000)."""
    value = int(os.environ.get(EVENTS_ENV) or os.environ.get(ROWS_ENV) or DEFAULT_EVENTS)
    if value < 1:
        raise ValueError(f"{EVENTS_ENV} must be at least 1, not {value}")
    return value


def run(*, runs: int | None = None) -> BenchmarkResult:
    """Replay the recording into our book and through the raw limit; return level updates/s (higher is better)."""
    runs = runs if runs is not None else repeats(5)
    replay = load_replay()
    per_pass = replay.events_per_pass
    passes = math.ceil(target_events() / per_pass)
    events = passes * per_pass

    first_pass, _, _ = replay_ours(replay, 1)
    if not same_book(first_pass, replay.rebuilt):
        raise RuntimeError("one pass of the replay does not give rebuild_binance_book's book")
    raw_bids, raw_asks, _, _ = replay_raw(replay, 1)
    rebuilt_bids, rebuilt_asks = replay.rebuilt.depth()
    if raw_bids != dict(replay.rebuilt.bids(rebuilt_bids)) or raw_asks != dict(replay.rebuilt.asks(rebuilt_asks)):
        raise RuntimeError("one pass of the raw limit does not give rebuild_binance_book's levels")

    ours_runs: list[float] = []
    peer_runs: list[float] = []
    ours_diff_only: list[float] = []
    raw_diff_only: list[float] = []
    for _ in range(runs):
        book, snapshot_seconds, diff_seconds = replay_ours(replay, passes)
        if not same_book(book, replay.rebuilt):
            raise RuntimeError("the book after the timed passes differs from rebuild_binance_book's")
        ours_runs.append(events / (snapshot_seconds + diff_seconds))
        ours_diff_only.append(events / diff_seconds)
        _, _, snapshot_seconds, diff_seconds = replay_raw(replay, passes)
        peer_runs.append(events / (snapshot_seconds + diff_seconds))
        raw_diff_only.append(events / diff_seconds)

    diffs_per_pass = len(replay.diffs)
    ours, peer = statistics.median(ours_runs), statistics.median(peer_runs)  # what the result reports
    return BenchmarkResult.compare(
        name="replay_l2",
        description=__doc__.strip().splitlines()[0] if __doc__ else "",
        unit=UNIT,
        ours_runs=ours_runs,
        peer_runs=peer_runs,
        peer_name="raw limit (plain dict set/delete per level, no sorted structure)",
        target=TARGET_EVENTS_PER_S,
        target_of="ours",
        details={
            "event": "one price-level update (a [price, amount] entry of a depth diff's b or a list)",
            "recording": "cryptofeed/sample_data/BINANCE.http.0.0 + BINANCE.ws.1.0 (Binance spot)",
            "symbol": replay.symbol,
            "snapshot_last_update_id": replay.last_update_id,
            "snapshot_levels": {"bids": len(replay.snapshot_bids), "asks": len(replay.snapshot_asks)},
            "recorded_diffs": replay.recorded_diffs,
            "diff_messages_per_pass": diffs_per_pass,
            "events_per_pass": per_pass,
            "passes": passes,
            "events": events,
            "diff_messages_per_s": ours / per_pass * diffs_per_pass,
            "diff_messages_per_s_raw_limit": peer / per_pass * diffs_per_pass,
            "ratio_ours_to_raw_limit": ours / peer,
            "events_per_s_excluding_snapshot_reapplication": statistics.median(ours_diff_only),
            "events_per_s_excluding_snapshot_reapplication_raw_limit": statistics.median(raw_diff_only),
            "timed_per_pass": "apply_snapshot (counts no events), every applied diff via apply_deltas, best bid/ask",
            "book_checked": "first pass and each timed run's last pass equal rebuild_binance_book's book; "
            "best bid/ask read after every pass, equal to the rebuild's and uncrossed",
            "target": "absolute: ours >= 1,000,000 level updates/s (not a ratio)",
        },
        machine=machine_info(),
    )
