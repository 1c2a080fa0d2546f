"""The coarse skeleton of a price path: the regime chain, the jumps and the log price at each midnight.

The regime is a continuous-time Markov chain (exponential holding times, `transitions` for the next
regime); jumps arrive as a Poisson process whose intensity follows the regime. Both, and the day's
diffusion total, are drawn in blocks of `BLOCK_DAYS` days from streams named by (seed, symbol,
block), so the skeleton up to any day costs a few microseconds per day and is cached; the fine path
of a day (see `prices`) is then drawn from that day's own stream, bridged between its midnights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from traider.marketdata.simulator.config import SimulatorConfig
from traider.marketdata.simulator.seeds import generator

SECONDS_PER_DAY = 86_400
BLOCK_DAYS = 64
_BLOCK_SECONDS = BLOCK_DAYS * SECONDS_PER_DAY

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def stationary_distribution(config: SimulatorConfig) -> FloatArray:
    """Return the long-run share of time spent in each regime."""
    rates = 1.0 / np.array([regime.mean_duration_hours for regime in config.regimes])
    generator_matrix = rates[:, None] * (np.array(config.transitions) - np.eye(len(rates)))
    system = np.vstack([generator_matrix.T, np.ones(len(rates))])
    target = np.zeros(len(rates) + 1)
    target[-1] = 1.0
    shares = np.linalg.lstsq(system, target, rcond=None)[0]
    return np.asarray(np.clip(shares, 0.0, None) / np.clip(shares, 0.0, None).sum(), dtype=np.float64)


def regime_rates(config: SimulatorConfig, attribute: str) -> FloatArray:
    """Return a per-day regime attribute per second (variance for `volatility_per_day`)."""
    values = np.array([getattr(regime, attribute) for regime in config.regimes], dtype=np.float64)
    if attribute == "volatility_per_day":
        values = values**2
    return values / SECONDS_PER_DAY


def integrate(starts: FloatArray, regimes: IntArray, rates: FloatArray, points: FloatArray, end: float) -> FloatArray:
    """Return the integral from starts[0] to each point (at most `end`) of the piecewise-constant regime rate."""
    knots = np.append(starts, end)
    values = np.concatenate([[0.0], np.cumsum(rates[regimes] * np.diff(knots))])
    return np.asarray(np.interp(points, knots, values), dtype=np.float64)


@dataclass(frozen=True)
class DayPlan:
    """The skeleton of one day; times are seconds from the day's midnight."""

    day: int
    segment_starts: FloatArray
    segment_regimes: IntArray
    jump_minutes: IntArray
    jump_sizes: FloatArray
    log_open: float
    log_next_open: float
    diffusion_total: float

    def integrate(self, rates: FloatArray, seconds: FloatArray) -> FloatArray:
        """Return the integral from midnight to each of `seconds` of a per-regime rate."""
        return integrate(self.segment_starts, self.segment_regimes, rates, seconds, SECONDS_PER_DAY)

    def regime_at(self, seconds: FloatArray) -> IntArray:
        """Return the regime in force at each of `seconds`."""
        index = np.searchsorted(self.segment_starts, seconds, side="right") - 1
        return np.asarray(self.segment_regimes[index], dtype=np.int64)


@dataclass(frozen=True)
class _Block:
    starts: FloatArray
    regimes: IntArray
    jump_times: FloatArray
    jump_sizes: FloatArray
    diffusion_totals: FloatArray
    log_anchors: FloatArray


class RegimeChain:
    """The skeleton of one spot symbol's path, generated block by block from the epoch and cached."""

    def __init__(self, config: SimulatorConfig, symbol: str, log_initial_price: float) -> None:
        self._config = config
        self._symbol = symbol
        self._log_initial_price = log_initial_price
        self._blocks: list[_Block] = []
        self._mean_seconds = np.array([r.mean_duration_hours * 3600.0 for r in config.regimes])
        self._next_regime = np.cumsum(np.array(config.transitions), axis=1)
        self._variance = regime_rates(config, "volatility_per_day")
        self._drift = regime_rates(config, "drift_per_day")
        self._jumps = regime_rates(config, "jumps_per_day")

    def day_plan(self, day: int) -> DayPlan:
        """Return the skeleton of day `day` (days since the epoch)."""
        if day < 0:
            raise ValueError(f"day {day} is before the simulator's epoch")
        block = self._block(day // BLOCK_DAYS)
        offset = day % BLOCK_DAYS
        begin = float(offset * SECONDS_PER_DAY)
        end = begin + SECONDS_PER_DAY
        first = int(np.searchsorted(block.starts, begin, side="right")) - 1
        last = int(np.searchsorted(block.starts, end, side="left"))
        starts = block.starts[first:last] - begin
        starts[0] = 0.0
        in_day = (block.jump_times >= begin) & (block.jump_times < end)
        return DayPlan(
            day=day,
            segment_starts=starts,
            segment_regimes=block.regimes[first:last],
            jump_minutes=((block.jump_times[in_day] - begin) // 60).astype(np.int64) + 1,
            jump_sizes=block.jump_sizes[in_day],
            log_open=float(block.log_anchors[offset]),
            log_next_open=float(block.log_anchors[offset + 1]),
            diffusion_total=float(block.diffusion_totals[offset]),
        )

    def _block(self, index: int) -> _Block:
        while len(self._blocks) <= index:
            previous = self._blocks[-1] if self._blocks else None
            self._blocks.append(self._make_block(len(self._blocks), previous))
        return self._blocks[index]

    def _make_block(self, index: int, previous: _Block | None) -> _Block:
        seed, symbol = self._config.seed, self._symbol
        rng = generator(seed, symbol, "regimes", index)
        regime = int(previous.regimes[-1]) if previous else int(rng.choice(len(self._mean_seconds), p=self._start()))
        starts: list[float] = []
        regimes: list[int] = []
        clock = 0.0
        while clock < _BLOCK_SECONDS:  # memoryless holding times: restarting at the block edge is exact
            starts.append(clock)
            regimes.append(regime)
            clock += rng.exponential(self._mean_seconds[regime])
            row = self._next_regime[regime]
            regime = min(int(np.searchsorted(row, rng.random() * row[-1], side="right")), len(row) - 1)
        segment_starts = np.array(starts)
        segment_regimes = np.array(regimes, dtype=np.int64)
        jump_times, jump_sizes = self._draw_jumps(generator(seed, symbol, "jumps", index), segment_starts, regimes)
        boundaries = np.arange(BLOCK_DAYS + 1, dtype=np.float64) * SECONDS_PER_DAY
        variance = np.diff(integrate(segment_starts, segment_regimes, self._variance, boundaries, _BLOCK_SECONDS))
        drift = np.diff(integrate(segment_starts, segment_regimes, self._drift, boundaries, _BLOCK_SECONDS))
        days = (jump_times // SECONDS_PER_DAY).astype(np.int64)
        jumps = np.bincount(days, weights=jump_sizes, minlength=BLOCK_DAYS)
        totals = np.sqrt(variance) * generator(seed, symbol, "daily", index).standard_normal(BLOCK_DAYS)
        start = float(previous.log_anchors[-1]) if previous else self._log_initial_price
        anchors = start + np.concatenate([[0.0], np.cumsum(drift + jumps + totals)])
        return _Block(segment_starts, segment_regimes, jump_times, jump_sizes, totals, anchors)

    def _draw_jumps(
        self, rng: np.random.Generator, starts: FloatArray, regimes: list[int]
    ) -> tuple[FloatArray, FloatArray]:
        top = float(self._jumps.max())
        count = int(rng.poisson(top * _BLOCK_SECONDS))
        times = np.sort(rng.uniform(0.0, _BLOCK_SECONDS, count))
        accept = rng.random(count) * top < self._jumps[np.asarray(regimes)[np.searchsorted(starts, times, "right") - 1]]
        sizes = rng.normal(self._config.jump_mean, self._config.jump_volatility, count)
        return times[accept], sizes[accept]

    def _start(self) -> FloatArray:
        return stationary_distribution(self._config)
