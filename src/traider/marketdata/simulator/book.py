"""The L2 book around the mid: `levels` prices a tick apart on each side of a touch that never crosses.

The touch at each second is the mid minus and plus half the quoted spread, rounded outwards to the
tick grid (at least one tick apart). A level's amount is a pure function of (symbol, side, price,
refresh period): lognormal around `level_notional` at the initial price, redrawn every
`level_refresh_seconds` at a phase of its own. So the book at any second is known without history,
and the deltas of a second are exactly the levels that entered, left or were refreshed; the
sequence number of the book at Unix second s is s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traider.marketdata.simulator.config import SimulatorConfig
from traider.marketdata.simulator.regimes import FloatArray, IntArray
from traider.marketdata.simulator.seeds import hash_normal, hash_uniform, key_int
from traider.marketdata.simulator.symbols import Instrument

BID, ASK = 0, 1
_DIRECTION = {BID: -1, ASK: 1}


def touch(log_mid: FloatArray, tick: float, spread_bps: float) -> tuple[IntArray, IntArray]:
    """Return the best bid and best ask, in ticks, for each log mid price."""
    mid = np.exp(log_mid)
    half = mid * spread_bps / 20_000.0
    bid = np.floor((mid - half) / tick).astype(np.int64)
    ask = np.maximum(np.ceil((mid + half) / tick).astype(np.int64), bid + 1)
    return bid, ask


@dataclass(frozen=True)
class BookModel:
    """The amounts and shape of one instrument's book."""

    instrument: Instrument
    config: SimulatorConfig

    @property
    def median_amount(self) -> float:
        """Return the median amount of a level, in base units."""
        return self.config.level_notional / self.config.initial_price(self.instrument.base)

    def _key(self, side: int, purpose: str) -> int:
        return key_int(self.config.seed, self.instrument.symbol, "book", side, purpose)

    def phase(self, side: int, ticks: IntArray) -> IntArray:
        """Return each level's refresh phase in seconds."""
        period = self.config.level_refresh_seconds
        return (hash_uniform(self._key(side, "phase"), ticks) * period).astype(np.int64)

    def amounts(self, side: int, ticks: IntArray, seconds: IntArray) -> FloatArray:
        """Return the amount resting at each (price in ticks, Unix second)."""
        period = self.config.level_refresh_seconds
        refresh = (seconds + self.phase(side, ticks)) // period
        normal = hash_normal(self._key(side, "amount"), ticks, refresh)
        return np.asarray(self.median_amount * np.exp(self.config.level_dispersion * normal), dtype=np.float64)

    def levels(self, side: int, best: IntArray) -> IntArray:
        """Return the (seconds, levels) grid of prices in ticks, best first."""
        return best[:, None] + _DIRECTION[side] * np.arange(self.config.book_levels)

    def deltas(self, side: int, best: IntArray, seconds: IntArray, first_is_new: bool) -> tuple[IntArray, ...]:
        """Return (second, price in ticks, is removal) of the changes at `seconds`; `best` has one more, earlier row.

        With `first_is_new` the first second is compared with an empty book (the epoch's first second).
        """
        count = self.config.book_levels
        direction = _DIRECTION[side]
        position = np.arange(count)
        shift = direction * (best[1:] - best[:-1])
        ticks = self.levels(side, best[1:])
        old_position = position[None, :] + shift[:, None]
        existed = (old_position >= 0) & (old_position < count)
        refreshed = (seconds[:, None] + self.phase(side, ticks)) % self.config.level_refresh_seconds == 0
        new_position = position[None, :] - shift[:, None]
        gone = (new_position < 0) | (new_position >= count)
        if first_is_new:
            existed[0] = False
            gone[0] = False
        changed = ~existed | refreshed
        old_ticks = self.levels(side, best[:-1])
        rows = np.broadcast_to(seconds[:, None], ticks.shape)
        second = np.concatenate([rows[changed], rows[gone]])
        price = np.concatenate([ticks[changed], old_ticks[gone]])
        removal = np.concatenate([np.zeros(int(changed.sum()), np.int64), np.ones(int(gone.sum()), np.int64)])
        return second, price, removal
