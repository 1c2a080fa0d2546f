"""The fine log-price path of one day: minute OHLC first, then the 1-second path consistent with it.

Minute `m` of a day covers seconds 60m .. 60m+59; its open and close are the path at those seconds
and a jump lands on the step into a minute's first second. The diffusion is a Brownian motion run on
the regime's variance clock and bridged so the day ends at the next midnight's log price. A minute's
high and low are drawn from the law of a Brownian bridge's extremes; the 1-second path is built
afterwards through the open, high, low and close (bridges between them, clipped to the range), so
aggregating it reproduces the minute bars exactly, and the costly 86 400 points are only made for
days that need them (trades, books, sub-minute bars).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from traider.marketdata.simulator.config import SimulatorConfig
from traider.marketdata.simulator.regimes import DayPlan, FloatArray, IntArray, regime_rates

MINUTES = 1_440
_OPENS: FloatArray = 60.0 * np.arange(MINUTES, dtype=np.float64)
_POINTS = np.concatenate([np.column_stack([_OPENS, _OPENS + 59.0]).ravel(), [86_400.0]])


@dataclass(frozen=True)
class MinutePath:
    """One day of log prices at minute resolution; `next_open` is the next midnight's log price."""

    day: int
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    next_open: float
    step_variance: FloatArray
    regimes: IntArray

    def shifted(self, offsets: FloatArray, next_offset: float) -> MinutePath:
        """Return the path moved by a constant log offset per minute (keeps each bar consistent)."""
        return replace(
            self,
            open=self.open + offsets,
            high=self.high + offsets,
            low=self.low + offsets,
            close=self.close + offsets,
            next_open=self.next_open + next_offset,
        )


def minute_paths(
    plans: Sequence[DayPlan], config: SimulatorConfig, rngs: Sequence[np.random.Generator]
) -> list[MinutePath]:
    """Draw the minute OHLC of several days' log prices from their skeletons, each day from its own stream."""
    variance_rates, drift_rates = regime_rates(config, "volatility_per_day"), regime_rates(config, "drift_per_day")
    variance = np.stack([plan.integrate(variance_rates, _POINTS) for plan in plans])
    drift = np.stack([plan.integrate(drift_rates, _POINTS) for plan in plans])
    normals = np.stack([rng.standard_normal(2 * MINUTES) for rng in rngs])
    uniforms = 1.0 - np.stack([rng.random((2, MINUTES)) for rng in rngs])
    walk = np.zeros(variance.shape)
    walk[:, 1:] = np.cumsum(np.sqrt(np.diff(variance, axis=1)) * normals, axis=1)
    targets = np.array([plan.diffusion_total for plan in plans])
    walk += variance / variance[:, -1:] * (targets - walk[:, -1])[:, None]  # bridge on the variance clock
    jumps = np.zeros(variance.shape)
    rows = np.concatenate([np.full(plan.jump_minutes.size, row) for row, plan in enumerate(plans)])
    columns = np.concatenate([2 * plan.jump_minutes for plan in plans])
    np.add.at(jumps, (rows, columns), np.concatenate([plan.jump_sizes for plan in plans]))
    path = np.array([plan.log_open for plan in plans])[:, None] + drift + walk + np.cumsum(jumps, axis=1)
    opens, closes = path[:, 0:-1:2], path[:, 1::2]
    spread = variance[:, 1::2] - variance[:, 0:-1:2]
    high = (opens + closes + np.sqrt((closes - opens) ** 2 - 2.0 * spread * np.log(uniforms[:, 0]))) / 2.0
    low = (opens + closes - np.sqrt((closes - opens) ** 2 - 2.0 * spread * np.log(uniforms[:, 1]))) / 2.0
    high = np.maximum(high, np.maximum(opens, closes))
    low = np.minimum(low, np.minimum(opens, closes))
    return [
        MinutePath(
            day=plan.day,
            open=opens[row],
            high=high[row],
            low=low[row],
            close=closes[row],
            next_open=plan.log_next_open,
            step_variance=spread[row] / 59.0,
            regimes=plan.regime_at(_OPENS),
        )
        for row, plan in enumerate(plans)
    ]


def second_path(path: MinutePath, rng: np.random.Generator) -> FloatArray:
    """Draw the day's log price at each second 0 .. 86 400 through every minute's open, high, low, close."""
    at_high = rng.integers(1, 59, MINUTES)
    at_low = rng.integers(1, 58, MINUTES)
    at_low += at_low >= at_high  # uniform over 1..58 without the high's second
    positions = np.column_stack([np.zeros(MINUTES, np.int64), at_high, at_low, np.full(MINUTES, 59)])
    values = np.column_stack([path.open, path.high, path.low, path.close])
    order = np.argsort(positions, axis=1)
    positions = np.take_along_axis(positions, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    noise = rng.standard_normal((MINUTES, 60)) * np.sqrt(path.step_variance)[:, None]
    noise[:, 0] = 0.0
    walk = np.cumsum(noise, axis=1)
    seconds = np.arange(60)
    segment = (positions[:, None, 1:3] <= seconds[None, :, None]).sum(axis=2)
    left = np.take_along_axis(positions, segment, axis=1)
    right = np.take_along_axis(positions, segment + 1, axis=1)
    fraction = (seconds - left) / (right - left)
    left_walk = np.take_along_axis(walk, left, axis=1)
    right_walk = np.take_along_axis(walk, right, axis=1)
    start = np.take_along_axis(values, segment, axis=1)
    stop = np.take_along_axis(values, segment + 1, axis=1)
    fine = start + fraction * (stop - start) + (walk - left_walk) - fraction * (right_walk - left_walk)
    fine = np.clip(fine, path.low[:, None], path.high[:, None])
    return np.concatenate([fine.ravel(), [path.next_open]])


def from_seconds(seconds: FloatArray, like: MinutePath) -> MinutePath:
    """Return the minute OHLC of a 1-second path (86 401 points), keeping `like`'s regimes and variances."""
    grid = seconds[:-1].reshape(MINUTES, 60)
    return replace(
        like,
        open=grid[:, 0].copy(),
        high=grid.max(axis=1),
        low=grid.min(axis=1),
        close=grid[:, 59].copy(),
        next_open=float(seconds[-1]),
    )
