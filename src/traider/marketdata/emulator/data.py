"""Readers of the recorded payloads under ../shared/data and the sorted series the emulator serves from.

Nothing here copies data: every file is read at run time from the shared data directory.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

EXCERPTS = Path("ccxt/ts/src/test/static/response_excerpts")
CRYPTOFEED = Path("cryptofeed/sample_data")

T = TypeVar("T")


def default_data_dir() -> Path:
    """Return the shared data directory: $TRAIDER_SHARED_DATA, else ../shared/data beside the repository."""
    configured = os.environ.get("TRAIDER_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[4].parent / "shared" / "data"


def excerpt_cases(data_dir: Path, venue: str, method: str) -> list[dict[str, Any]]:
    """Return the recorded cases of one ccxt method from the venue's static response excerpt."""
    with (data_dir / EXCERPTS / f"{venue}.excerpt.json").open(encoding="utf-8") as handle:
        cases: list[dict[str, Any]] = json.load(handle)["methods"].get(method, [])
    return cases


@dataclass(frozen=True)
class HttpRecording:
    """One REST response recorded by cryptofeed: the URL asked, when, and the parsed body."""

    url: str
    at: float
    body: Any


def read_http_recordings(path: Path) -> list[HttpRecording]:
    """Parse a cryptofeed REST recording (lines "<url> -> <unix ts>: <body>")."""
    recordings = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            head, sep, body = line.partition(": ")
            if not sep or " -> " not in head:
                continue
            url, _, at = head.partition(" -> ")
            recordings.append(HttpRecording(url=url, at=float(at), body=json.loads(body)))
    return recordings


def read_ws_messages(path: Path) -> Iterator[tuple[float, Any]]:
    """Yield (unix ts, parsed message) of a cryptofeed websocket recording, skipping sent frames."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            head, sep, body = line.partition(": ")
            if not sep or " " in head:
                continue
            try:
                yield float(head), json.loads(body)
            except ValueError:
                continue


Candle = tuple[int, float, float, float, float, float]


def read_candles(path: Path) -> list[Candle]:
    """Read real candles (ts ms, open, high, low, close, volume) from a jesse CSV, freqtrade feather or JSON."""
    name = path.name
    if name.endswith(".csv"):
        with path.open(encoding="utf-8") as handle:
            return [_candle(row) for row in csv.reader(handle) if row and row[0][0].isdigit()]
    if name.endswith(".json.gz") or name.endswith(".json"):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            payload = json.load(handle)
        if isinstance(payload, dict):  # pandas "columns" orient: {column: {row: value}}
            columns = ("date", "open", "high", "low", "close", "volume")
            rows = zip(*(payload[column].values() for column in columns), strict=True)
            return [_candle(row) for row in rows]
        return [_candle(row) for row in payload]
    import pandas as pd

    frame = pd.read_feather(path)
    stamps = (frame["date"].astype("int64") // 1_000_000).tolist()
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy().tolist()
    return [_candle([ts, *row]) for ts, row in zip(stamps, values, strict=True)]


def _candle(row: Any) -> Candle:
    ts, open_, high, low, close, volume = row[:6]
    return (int(float(ts)), float(open_), float(high), float(low), float(close), float(volume))


def decimal_str(value: float) -> str:
    """Return a float as the shortest plain decimal string (no exponent), as venues send prices."""
    return format(Decimal(repr(float(value))), "f")


class Series(Generic[T]):
    """Items sorted by (timestamp ms, tiebreak), unique by that pair; recorded items win over loaded history."""

    def __init__(self) -> None:
        self._keys: list[tuple[int, str]] = []
        self._items: list[T] = []

    def __len__(self) -> int:
        return len(self._items)

    def add(self, ts: int, item: T, *, tiebreak: str = "", replace: bool = True) -> None:
        """Insert an item; an item already at the same key is replaced only when `replace`."""
        key = (ts, tiebreak)
        index = bisect.bisect_left(self._keys, key)
        if index < len(self._keys) and self._keys[index] == key:
            if replace:
                self._items[index] = item
            return
        self._keys.insert(index, key)
        self._items.insert(index, item)

    def between(self, start: int | None = None, end: int | None = None) -> list[T]:
        """Return the items with start <= ts <= end (either bound optional), oldest first."""
        low = 0 if start is None else bisect.bisect_left(self._keys, (start, ""))
        high = len(self._keys) if end is None else bisect.bisect_right(self._keys, (end, "\U0010ffff"))
        return self._items[low:high]

    def timestamps(self) -> list[int]:
        """Return every item's timestamp, oldest first."""
        return [ts for ts, _ in self._keys]


def window(series: Series[T], start: int | None, end: int | None, limit: int) -> list[T]:
    """Select like most venue REST APIs: from `start` forward (first `limit`), else the newest `limit` up to `end`."""
    items = series.between(start, end)
    if start is not None:
        return items[:limit]
    return items[-limit:] if limit else []
