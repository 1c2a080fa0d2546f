"""The skeleton: regime chain, jumps and midnight anchors, chained block by block and deterministic."""

from __future__ import annotations

import math

import numpy as np

from traider.marketdata.simulator import SimulatorConfig
from traider.marketdata.simulator.regimes import SECONDS_PER_DAY, RegimeChain, regime_rates, stationary_distribution


def _chain(seed: int = 0) -> RegimeChain:
    return RegimeChain(SimulatorConfig(seed=seed), "BTC/USD", math.log(30_000.0))


def test_stationary_distribution_default_regimes_sums_to_one_and_favours_calm() -> None:
    shares = stationary_distribution(SimulatorConfig())
    assert math.isclose(shares.sum(), 1.0)
    assert shares.argmax() == 0 and (shares > 0.05).all()


def test_day_plan_same_seed_identical_whatever_was_generated_first() -> None:
    late_first = _chain()
    late = late_first.day_plan(500)
    early = _chain()
    for day in range(0, 501, 50):
        early.day_plan(day)
    again = early.day_plan(500)
    assert late.log_open == again.log_open and np.array_equal(late.jump_sizes, again.jump_sizes)
    assert np.array_equal(late.segment_starts, again.segment_starts)


def test_day_plan_consecutive_days_share_their_midnight() -> None:
    chain = _chain()
    for day in (0, 63, 64, 200):
        assert chain.day_plan(day).log_next_open == chain.day_plan(day + 1).log_open


def test_day_plan_regime_carries_over_midnight() -> None:
    chain = _chain()
    for day in (10, 63, 127):
        today, tomorrow = chain.day_plan(day), chain.day_plan(day + 1)
        assert tomorrow.segment_regimes[0] == today.segment_regimes[-1]


def test_jumps_long_run_count_near_configured_intensity() -> None:
    config = SimulatorConfig(seed=5)
    chain = RegimeChain(config, "ETH/USD", math.log(2_000.0))
    rates = regime_rates(config, "jumps_per_day")
    end = np.array([float(SECONDS_PER_DAY)])
    plans = [chain.day_plan(day) for day in range(730)]
    observed = sum(plan.jump_sizes.size for plan in plans)
    expected = sum(float(plan.integrate(rates, end)[0]) for plan in plans)
    assert abs(observed - expected) < 4 * math.sqrt(expected)
    long_run = 730 * float(stationary_distribution(config) @ [r.jumps_per_day for r in config.regimes])
    assert abs(observed - long_run) < 0.25 * long_run


def test_regime_durations_long_run_mean_near_configured() -> None:
    config = SimulatorConfig(seed=9)
    chain = RegimeChain(config, "BTC/USD", math.log(30_000.0))
    plans = [chain.day_plan(day) for day in range(0, 640)]
    switches = sum(plan.segment_starts.size - 1 for plan in plans)
    shares = stationary_distribution(config)
    expected_per_day = 24.0 * float(shares @ [1.0 / r.mean_duration_hours for r in config.regimes])
    assert abs(switches / 640 - expected_per_day) < 0.15 * expected_per_day
