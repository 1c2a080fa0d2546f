"""The perpetual's basis and funding: perp = spot x (1 + basis), funding from the averaged premium.

The basis is an Ornstein-Uhlenbeck process per minute reverting to the regime's `basis_mean` with
stationary standard deviation `basis_volatility`. Its value at each midnight is drawn from the
stationary law on that day's own stream and each day is the exact OU bridge between its midnights,
so any day can be produced alone. Funding follows Binance's formula for an interval ending at the
settlement: rate = clamp(P + clamp(I - P, -clamp, +clamp), -cap, +cap), P the mean premium (the
basis) over the interval and I the interest per interval; the rate has the basis's sign whenever
P > 0 or P < -clamp.
"""

from __future__ import annotations

import math

import numpy as np

from traider.marketdata.simulator.config import SimulatorConfig
from traider.marketdata.simulator.prices import MINUTES
from traider.marketdata.simulator.regimes import FloatArray, IntArray


def basis_means(config: SimulatorConfig, regimes: IntArray) -> FloatArray:
    """Return the level the basis reverts to under each regime."""
    return np.array([regime.basis_mean for regime in config.regimes])[regimes]


def boundary_basis(config: SimulatorConfig, regime: int, rng: np.random.Generator) -> float:
    """Draw the basis at a midnight from its stationary law in `regime`."""
    return float(rng.normal(config.regimes[regime].basis_mean, config.basis_volatility))


def basis_path(
    config: SimulatorConfig, regimes: IntArray, start: float, end: float, rng: np.random.Generator
) -> FloatArray:
    """Draw the basis at each minute 0 .. 1 440 of a day, from `start` to `end` (the next midnight's value)."""
    rate = math.log(2.0) / (config.basis_half_life_hours * 60.0)
    decay = math.exp(-rate)
    means = basis_means(config, regimes)
    shocks = config.basis_volatility * math.sqrt(1.0 - decay**2) * rng.standard_normal(MINUTES)
    values = np.empty(MINUTES + 1)
    values[0] = current = start
    for minute in range(MINUTES):
        current = means[minute] + (current - means[minute]) * decay + shocks[minute]
        values[minute + 1] = current
    elapsed = np.arange(MINUTES + 1, dtype=np.float64)
    weight = np.exp(rate * (elapsed - MINUTES)) * -np.expm1(-2.0 * rate * elapsed) / -math.expm1(-2.0 * rate * MINUTES)
    bridged = values + weight * (end - values[-1])
    bridged[-1] = end  # exactly the next day's first value
    return np.asarray(bridged, dtype=np.float64)


def funding_rate(premium: FloatArray, config: SimulatorConfig) -> FloatArray:
    """Return the funding rate for each interval's mean premium (Binance's formula)."""
    interest, band = config.funding_interest, config.funding_clamp
    clamped = np.where(np.abs(interest - premium) <= band, interest, premium + np.clip(interest - premium, -band, band))
    return np.asarray(np.clip(clamped, -config.funding_cap, config.funding_cap), dtype=np.float64)
