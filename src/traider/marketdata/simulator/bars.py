"""Timeframes and OHLCV aggregation aligned to UTC: `1s`..`59s`, `1m`, `1h`, `1d`, `1w` (Mondays), `1M`.

Bars open at multiples of their length since the Unix epoch (weeks on Mondays, months on the 1st),
and are aggregated from minute or second bars in a stream that may end in the middle of a bar: the
open part is carried to the next chunk, so the days of a request can be generated one at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from traider.marketdata.simulator.config import SimulatorRequestError
from traider.marketdata.simulator.regimes import IntArray

_TIMEFRAME = re.compile(r"^([1-9][0-9]*)([smhdwM])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_MONDAY = 4 * 86_400  # 1970-01-05, the first Monday after the Unix epoch
FIELDS = ("ts", "open", "high", "low", "close", "volume")
Bars = dict[str, NDArray[Any]]


@dataclass(frozen=True)
class Timeframe:
    """A bar length; months have no fixed number of seconds."""

    text: str
    count: int
    unit: str

    @property
    def seconds(self) -> int | None:
        """Return the bar length in seconds, None for months."""
        return None if self.unit == "M" else self.count * _UNIT_SECONDS[self.unit]

    @property
    def minute_aligned(self) -> bool:
        """Return True when every bar is made of whole UTC minutes."""
        return self.seconds is None or self.seconds % 60 == 0

    def floor(self, seconds: IntArray) -> IntArray:
        """Return the open time (Unix seconds) of the bar holding each Unix second."""
        length = self.seconds
        if length is None:
            months = np.asarray(seconds).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
            opens = (months // self.count * self.count).astype("datetime64[M]").astype("datetime64[s]")
            return np.asarray(opens.astype(np.int64), dtype=np.int64)
        offset = _MONDAY if self.unit == "w" else 0
        return np.asarray((seconds - offset) // length * length + offset, dtype=np.int64)

    def next_open(self, open_second: int) -> int:
        """Return the open time of the bar after the one opening at `open_second`."""
        length = self.seconds
        if length is not None:
            return open_second + length
        month = np.datetime64(open_second, "s").astype("datetime64[M]") + np.timedelta64(self.count, "M")
        return int(month.astype("datetime64[s]").astype(np.int64))


def parse_timeframe(text: str) -> Timeframe:
    """Return the timeframe named by `text` like 1m, 4h, 1d, 1w or 1M."""
    match = _TIMEFRAME.match(text)
    if match is None:
        raise SimulatorRequestError(f"timeframe {text!r} is not like 1s, 1m, 5m, 1h, 4h, 1d, 1w or 1M")
    return Timeframe(text=text, count=int(match.group(1)), unit=match.group(2))


class BarAggregator:
    """Fold time-ordered sub-bars into bars of one timeframe, carrying the bar still open."""

    def __init__(self, timeframe: Timeframe) -> None:
        self.timeframe = timeframe
        self._open: Bars | None = None

    def add(self, parts: Bars) -> Bars:
        """Add sub-bars (the `FIELDS`, `ts` their open second, in time order); return the bars they completed."""
        seconds = parts["ts"]
        if seconds.size == 0:
            return _empty()
        opens = self.timeframe.floor(seconds)
        starts = np.flatnonzero(np.concatenate([[True], opens[1:] != opens[:-1]]))
        ends = np.append(starts[1:], seconds.size) - 1
        bars: Bars = {
            "ts": opens[starts],
            "open": parts["open"][starts],
            "high": np.maximum.reduceat(parts["high"], starts),
            "low": np.minimum.reduceat(parts["low"], starts),
            "close": parts["close"][ends],
            "volume": np.add.reduceat(parts["volume"], starts),
        }
        if self._open is not None:
            bars = _merge_first(self._open, bars)
        self._open = {name: values[-1:] for name, values in bars.items()}
        return {name: values[:-1] for name, values in bars.items()}

    def finish(self) -> Bars:
        """Return the bar still open, if any, and forget it."""
        bars, self._open = self._open or _empty(), None
        return bars


def _merge_first(carried: Bars, bars: Bars) -> Bars:
    if carried["ts"][0] != bars["ts"][0]:
        return {name: np.concatenate([carried[name], bars[name]]) for name in FIELDS}
    merged = {name: values.copy() for name, values in bars.items()}
    merged["open"][0] = carried["open"][0]
    merged["high"][0] = max(carried["high"][0], bars["high"][0])
    merged["low"][0] = min(carried["low"][0], bars["low"][0])
    merged["volume"][0] = carried["volume"][0] + bars["volume"][0]
    return merged


def _empty() -> Bars:
    return {name: np.zeros(0, np.int64 if name == "ts" else np.float64) for name in FIELDS}
