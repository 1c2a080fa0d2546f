"""Trades: Poisson arrivals at a regime-dependent rate, lognormal sizes, prices at or inside the touch.

The count and the total amount of each minute are drawn first (cheap, and what the bars' volume is);
the trades themselves are made only for days that need them: arrival times uniform in the minute
at millisecond resolution, lognormal sizes scaled to the minute's total, the taker's side from the
direction of the next 1-second move (random when flat), the price at the touch of that second or,
with `inside_spread_probability`, strictly inside a spread wider than one tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from traider.marketdata.simulator.book import touch
from traider.marketdata.simulator.config import SimulatorConfig
from traider.marketdata.simulator.prices import MINUTES
from traider.marketdata.simulator.regimes import FloatArray, IntArray
from traider.marketdata.simulator.symbols import Instrument


@dataclass(frozen=True)
class Activity:
    """Trade count and traded amount (base units) of each minute of a day."""

    counts: IntArray
    volumes: FloatArray


@dataclass(frozen=True)
class DayTrades:
    """One day of trades in time order; `ids` are unique and increasing."""

    milliseconds: IntArray
    ids: IntArray
    prices: FloatArray
    amounts: FloatArray
    buys: NDArray[np.bool_]


def _size_moments(config: SimulatorConfig, instrument: Instrument) -> tuple[float, float, float]:
    median = config.trade_notional / config.initial_price(instrument.base)
    mean = median * np.exp(config.trade_dispersion**2 / 2.0)
    variance = (np.exp(config.trade_dispersion**2) - 1.0) * mean**2
    return median, float(mean), float(variance)


def minute_activities(
    config: SimulatorConfig, instrument: Instrument, regimes: IntArray, rngs: Sequence[np.random.Generator]
) -> list[Activity]:
    """Draw each minute's trade count and total amount for several days (rows of `regimes`), each from its stream.

    The total is lognormal with the mean and variance of the sum of the minute's lognormal trade sizes.
    """
    multipliers = np.array([regime.trade_rate_multiplier for regime in config.regimes])
    rates = config.trades_per_second * 60.0 * multipliers[regimes]
    counts = np.stack([rng.poisson(row) for rng, row in zip(rngs, rates, strict=True)]).astype(np.int64)
    normals = np.stack([rng.standard_normal(MINUTES) for rng in rngs])
    _, mean, variance = _size_moments(config, instrument)
    spread = np.log1p(variance / (mean**2 * np.maximum(counts, 1)))
    volumes = np.where(counts > 0, counts * mean * np.exp(np.sqrt(spread) * normals - spread / 2.0), 0.0)
    return [Activity(counts[row], volumes[row]) for row in range(len(counts))]


def day_trades(
    config: SimulatorConfig,
    instrument: Instrument,
    activity: Activity,
    *,
    log_mid: FloatArray,
    day_start: int,
    rng: np.random.Generator,
) -> DayTrades:
    """Draw the trades of a day from its minute activity and its 1-second log mid (86 401 points)."""
    minute = np.repeat(np.arange(MINUTES), activity.counts)
    milliseconds = np.sort(minute * 60_000 + rng.integers(0, 60_000, minute.size))
    median, _, _ = _size_moments(config, instrument)
    sizes = median * np.exp(config.trade_dispersion * rng.standard_normal(minute.size))
    totals = np.bincount(minute, weights=sizes, minlength=MINUTES)
    amounts = sizes * (activity.volumes / np.where(totals > 0, totals, 1.0))[minute]
    second = milliseconds // 1000
    move = log_mid[second + 1] - log_mid[second]
    buys = np.where(move == 0, rng.random(minute.size) < 0.5, move > 0)
    bid, ask = touch(log_mid[second], instrument.tick, config.spread_bps)
    inside = (rng.random(minute.size) < config.inside_spread_probability) & (ask - bid > 1)
    step = 1 + (rng.random(minute.size) * np.maximum(ask - bid - 1, 1)).astype(np.int64)
    ticks = np.where(buys, np.where(inside, ask - step, ask), np.where(inside, bid + step, bid))
    stamps = day_start * 1000 + milliseconds
    first_of_stamp = np.concatenate([[True], stamps[1:] != stamps[:-1]]) if stamps.size else np.zeros(0, bool)
    rank = np.arange(stamps.size) - np.maximum.accumulate(np.where(first_of_stamp, np.arange(stamps.size), 0))
    return DayTrades(
        milliseconds=stamps,
        ids=stamps * 1000 + rank,
        prices=np.round(ticks * instrument.tick, instrument.decimals),
        amounts=amounts,
        buys=buys,
    )
