"""Paging over [start, end) for venues that cut REST answers differently (see `ccxt_source.VenueQuirks`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

HOUR_MS = 3_600_000
SECOND_MS = 1_000

Fetch = Callable[[int | None, int], list[Any]]


def forward_pages(
    fetch: Fetch,
    *,
    ts_of: Callable[[Any], int],
    key_of: Callable[[Any], Any],
    start: int | None,
    end: int,
    limit: int,
    advance: Callable[[int], int],
    window: int | None,
) -> Iterator[list[Any]]:
    """Page forward by `since` over [start, end): each yielded page is new, in time order, without duplicates.

    `advance(last_ts)` is the next `since` after a page; rows at the last timestamp are remembered so an
    inclusive `since` repeats none. Without `window`, a short page means the venue has no more. With
    `window` (the span one request covers), an empty or short page means that span is done: move on by it.
    Without `start`, the venue's most recent page is fetched once. Rows without a usable timestamp are
    passed on (at the end of their page) for the normaliser to reject.
    """
    if start is None:
        placed, unplaced = split(fetch(None, limit), ts_of)
        latest = [row for ts, row in placed if ts < end] + unplaced
        if latest:
            yield latest
        return
    since, seen = start, set()
    while since < end:
        page = fetch(since, limit)
        placed, unplaced = split(page, ts_of)
        fresh = [row for ts, row in placed if since <= ts < end and key_of(row) not in seen]
        if fresh or unplaced:
            yield fresh + unplaced
        if not placed:
            if window is None:
                return
            since += window
            continue
        last = placed[-1][0]
        seen = {key_of(row) for ts, row in placed if ts == last}
        following = advance(last) if fresh else last + 1
        if window is not None and len(page) < limit:
            following = max(following, since + window)
        elif window is None and len(page) < limit:
            return
        since = max(following, since + 1)


def window_pages(
    fetch: Callable[[int | None, int, int | None], list[Any]],
    *,
    ts_of: Callable[[Any], int],
    key_of: Callable[[Any], Any],
    start: int,
    end: int,
    limit: int,
    venue_max: int,
) -> Iterator[list[Any]]:
    """Page over [start, end) for venues that answer the newest `limit` rows inside [since, until].

    A full answer may hide older rows, so the window is halved (down to one second) until the answer is
    not full; at one second the request is repeated with the venue's maximum limit.
    """
    low, width = start - start % SECOND_MS, HOUR_MS
    while low < end:
        high = max(min(end + SECOND_MS - 1, low + width) // SECOND_MS * SECOND_MS, low + SECOND_MS)
        page = fetch(low, limit, high - 1)
        if len(page) >= limit and high - low > SECOND_MS:
            width = max(SECOND_MS, (high - low) // 2 // SECOND_MS * SECOND_MS)
            continue
        if len(page) >= limit and limit < venue_max:
            page = fetch(low, venue_max, high - 1)
        placed, unplaced = split(page, ts_of)
        fresh = [row for ts, row in placed if start <= ts < min(high, end)] + unplaced
        if fresh:
            yield fresh
        low, width = high, min(HOUR_MS, width * 2)


def split(rows: list[Any], ts_of: Callable[[Any], int]) -> tuple[list[tuple[int, Any]], list[Any]]:
    """Return (ts, row) pairs sorted by ts, and the rows whose timestamp cannot be read, in order."""
    placed, unplaced = [], []
    for row in rows:
        try:
            placed.append((ts_of(row), row))
        except (TypeError, ValueError, KeyError, IndexError):
            unplaced.append(row)
    placed.sort(key=lambda pair: pair[0])
    return placed, unplaced
