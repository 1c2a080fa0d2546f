"""An L2 order book (price → amount per side) and Binance's documented snapshot-plus-diffs rebuild.

Each side is a dict of levels plus a sorted list of its prices kept with the best price at the end
(bids ascending, asks as negated prices ascending), so that the frequent changes near the top
move few list entries and an amount change of an existing level is a single dict store.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from traider.errors import TraiderError

Level = tuple[float, float]


class SequenceGapError(TraiderError):
    """A depth diff does not follow the snapshot or the previous diff: the book must be rebuilt."""


class _Side:
    """One side of the book: levels by price and their prices sorted with the best last."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: float) -> None:
        self.sign = sign  # +1 for bids (higher is better), -1 for asks (lower is better)
        self.levels: dict[float, float] = {}
        self.keys: list[float] = []  # sign * price, ascending: best level last

    def set(self, price: float, amount: float) -> None:
        levels = self.levels
        if amount > 0:
            if price not in levels:
                insort(self.keys, self.sign * price)
            levels[price] = amount
        elif price in levels:
            del levels[price]
            keys = self.keys
            del keys[bisect_left(keys, self.sign * price)]

    def replace(self, levels: Iterable[Level]) -> None:
        book = {price: amount for price, amount in levels if amount > 0}
        # a list sorted in place: about a quarter off a 1,600-level snapshot against sorted() over a generator
        keys = list(book) if self.sign > 0 else [-price for price in book]
        keys.sort()
        self.levels, self.keys = book, keys

    def best(self) -> float | None:
        return self.sign * self.keys[-1] if self.keys else None

    def top(self, depth: int) -> list[Level]:
        sign, levels = self.sign, self.levels
        return [(sign * key, levels[sign * key]) for key in reversed(self.keys[-depth:])] if depth > 0 else []


class OrderBook:
    """An L2 book of one instrument: amounts by price per side, with the last applied sequence."""

    __slots__ = ("_asks", "_bids", "sequence")

    def __init__(self) -> None:
        self._bids = _Side(1.0)
        self._asks = _Side(-1.0)
        self.sequence: int | None = None

    def apply_snapshot(self, bids: Iterable[Level], asks: Iterable[Level], sequence: int | None = None) -> None:
        """Replace the whole book by the snapshot's (price, amount) levels; zero amounts are left out."""
        self._bids.replace(bids)
        self._asks.replace(asks)
        self.sequence = sequence

    def apply_delta(self, side: str, price: float, amount: float, sequence: int | None = None) -> None:
        """Set the amount at `price` on `side` ('bid' or 'ask'); amount 0 removes the level."""
        if side == "bid":
            self._bids.set(price, amount)
        elif side == "ask":
            self._asks.set(price, amount)
        else:
            raise ValueError(f"side must be 'bid' or 'ask', not {side!r}")
        if sequence is not None:
            self.sequence = sequence

    def apply_deltas(self, sides: Sequence[str], prices: Sequence[float], amounts: Sequence[float]) -> None:
        """Apply many deltas in order (the columns of a book_deltas frame, as lists for speed)."""
        bid_levels, bid_keys = self._bids.levels, self._bids.keys
        ask_levels, ask_keys = self._asks.levels, self._asks.keys
        for side, price, amount in zip(sides, prices, amounts, strict=True):
            if side == "bid":
                levels, keys, key = bid_levels, bid_keys, price
            elif side == "ask":
                levels, keys, key = ask_levels, ask_keys, -price
            else:
                raise ValueError(f"side must be 'bid' or 'ask', not {side!r}")
            if amount > 0:
                if price not in levels:
                    insort(keys, key)
                levels[price] = amount
            elif price in levels:
                del levels[price]
                del keys[bisect_left(keys, key)]

    def best_bid(self) -> float | None:
        """Return the highest bid price, or None when there are no bids."""
        return self._bids.best()

    def best_ask(self) -> float | None:
        """Return the lowest ask price, or None when there are no asks."""
        return self._asks.best()

    def bids(self, depth: int) -> list[Level]:
        """Return the best `depth` bid levels, best first."""
        return self._bids.top(depth)

    def asks(self, depth: int) -> list[Level]:
        """Return the best `depth` ask levels, best first."""
        return self._asks.top(depth)

    def amount(self, side: str, price: float) -> float:
        """Return the amount at `price` on `side` (0 when there is no such level)."""
        levels = self._bids.levels if side == "bid" else self._asks.levels
        return levels.get(price, 0.0)

    def depth(self) -> tuple[int, int]:
        """Return how many bid and ask levels the book holds."""
        return len(self._bids.levels), len(self._asks.levels)

    def is_crossed(self) -> bool:
        """Return whether the best bid is above the best ask."""
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid > ask

    def is_locked(self) -> bool:
        """Return whether the best bid equals the best ask."""
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid == ask


@dataclass(frozen=True)
class DepthDiff:
    """A Binance depth diff: update ids U..u (and the previous diff's u as `pu` on futures), levels."""

    first_id: int
    final_id: int
    previous_final_id: int | None
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    @classmethod
    def from_message(cls, data: Mapping[str, Any]) -> DepthDiff:
        """Return the diff in a depthUpdate payload ({'U', 'u', 'pu'?, 'b', 'a'})."""
        previous = data.get("pu")
        return cls(
            first_id=int(data["U"]),
            final_id=int(data["u"]),
            previous_final_id=int(previous) if previous is not None else None,
            bids=tuple((float(price), float(amount)) for price, amount in data["b"]),
            asks=tuple((float(price), float(amount)) for price, amount in data["a"]),
        )


def rebuild_binance_book(
    snapshot: Mapping[str, Any],
    diffs: Iterable[Mapping[str, Any] | DepthDiff],
    *,
    on_diff: Callable[[OrderBook, DepthDiff], None] | None = None,
) -> OrderBook:
    """Return the book from a REST depth snapshot and the depth diffs that follow, Binance's way.

    Diffs with u <= lastUpdateId are dropped; the first applied diff must bridge the snapshot
    (U <= lastUpdateId+1 <= u on spot; U <= lastUpdateId <= u on futures, whose diffs carry `pu`),
    and each next diff must continue the previous one (U == previous u + 1 on spot, pu == previous u
    on futures); otherwise `SequenceGapError` names the ids. `on_diff` sees the book after each diff.
    """
    last_id = int(snapshot["lastUpdateId"])
    book = OrderBook()
    book.apply_snapshot(_levels(snapshot["bids"]), _levels(snapshot["asks"]), last_id)
    previous: DepthDiff | None = None
    for item in diffs:
        diff = item if isinstance(item, DepthDiff) else DepthDiff.from_message(item)
        futures = diff.previous_final_id is not None
        if diff.final_id < last_id or (diff.final_id == last_id and not futures):
            continue
        _check_continuity(diff, previous, last_id)
        for price, amount in diff.bids:
            book.apply_delta("bid", price, amount)
        for price, amount in diff.asks:
            book.apply_delta("ask", price, amount)
        book.sequence = diff.final_id
        previous = diff
        if on_diff is not None:
            on_diff(book, diff)
    return book


def _check_continuity(diff: DepthDiff, previous: DepthDiff | None, last_id: int) -> None:
    if previous is None:
        bridge = last_id if diff.previous_final_id is not None else last_id + 1
        if not diff.first_id <= bridge <= diff.final_id:
            raise SequenceGapError(
                f"first depth diff U={diff.first_id} u={diff.final_id} does not bridge snapshot "
                f"lastUpdateId={last_id} (need U <= {bridge} <= u): fetch a new snapshot"
            )
    elif diff.previous_final_id is not None:
        if diff.previous_final_id != previous.final_id:
            raise SequenceGapError(
                f"depth diff U={diff.first_id} u={diff.final_id} has pu={diff.previous_final_id}, "
                f"but the previous diff ended at u={previous.final_id}: updates were missed"
            )
    elif diff.first_id != previous.final_id + 1:
        raise SequenceGapError(
            f"depth diff U={diff.first_id} u={diff.final_id} does not follow the previous diff's "
            f"u={previous.final_id} (expected U={previous.final_id + 1}): updates were missed"
        )


def _levels(entries: Iterable[Sequence[Any]]) -> list[Level]:
    return [(float(price), float(amount)) for price, amount in entries]
