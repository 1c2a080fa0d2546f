"""Hand-computed values and properties of the probabilistic and deflated Sharpe ratios."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traider.backtest.deflated_sharpe import (
    deflated_sharpe_ratio,
    expected_maximum_sharpe,
    probabilistic_sharpe_ratio,
    return_moments,
)


def test_expected_maximum_sharpe_paper_example_matches_hand_computation() -> None:
    # Bailey & López de Prado (2014): N = 100 trials, variance of annualised trial Sharpes 0.5, 250 days a year.
    # per-day variance = 0.5 / 250 = 0.002, sqrt = 0.0447214
    # Phi^-1(1 - 1/100) = 2.3263479; Phi^-1(1 - 1/(100 e)) = Phi^-1(0.9963212) = 2.6802104
    # (1 - 0.5772157) x 2.3263479 + 0.5772157 x 2.6802104 = 0.9835435 + 1.5470594 = 2.5306029
    # 0.0447214 x 2.5306029 = 0.1131720 (the paper's SR0 = 0.1132)
    assert expected_maximum_sharpe(0.5 / 250, 100) == pytest.approx(0.1131720, abs=1e-7)


def test_probabilistic_sharpe_ratio_paper_example_gives_dsr_0_9004() -> None:
    # SR = 2.5 / sqrt(250) = 0.1581139 per day, T = 1250, skewness -3, kurtosis 10, SR0 = 0.1131720
    # numerator = (0.1581139 - 0.1131720) x sqrt(1249) = 0.0449419 x 35.3411941 = 1.5882997
    # radicand = 1 - (-3)(0.1581139) + (10 - 1)/4 x 0.1581139² = 1 + 0.4743416 + 0.05625 = 1.5305916, sqrt = 1.2371708
    # DSR = Phi(1.5882997 / 1.2371708) = Phi(1.2838160) = 0.9003968 (the paper: 0.9004)
    sharpe = 2.5 / math.sqrt(250)
    benchmark = expected_maximum_sharpe(0.5 / 250, 100)
    assert probabilistic_sharpe_ratio(sharpe, benchmark, 1250, -3.0, 10.0) == pytest.approx(0.9003968, abs=1e-7)


def test_probabilistic_sharpe_ratio_normal_returns_matches_hand_computation() -> None:
    # SR = 0.1, SR* = 0, T = 101, skewness 0, kurtosis 3:
    # 0.1 x sqrt(100) / sqrt(1 + (3 - 1)/4 x 0.01) = 1 / sqrt(1.005) = 0.9975155; Phi(0.9975155) = 0.8407413
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101) == pytest.approx(0.8407413, abs=1e-7)


def test_probabilistic_sharpe_ratio_equal_to_benchmark_gives_one_half() -> None:
    assert probabilistic_sharpe_ratio(0.2, 0.2, 500, -1.0, 6.0) == pytest.approx(0.5)


def test_probabilistic_sharpe_ratio_degenerate_inputs_give_nan() -> None:
    assert math.isnan(probabilistic_sharpe_ratio(0.1, 0.0, 1))  # fewer than 2 observations
    assert math.isnan(probabilistic_sharpe_ratio(1.0, 0.0, 100, 5.0, 3.0))  # radicand 1 - 5 + 0.5 < 0


def test_return_moments_small_sample_matches_hand_computation() -> None:
    # returns 0.01, 0.02, 0.03, 0.06: mean 0.03; centred -0.02, -0.01, 0, 0.03
    # m2 = (4 + 1 + 0 + 9)e-4 / 4 = 3.5e-4; m3 = (-8 - 1 + 0 + 27)e-6 / 4 = 4.5e-6; m4 = (16 + 1 + 0 + 81)e-8 / 4 = 24.5e-8
    # skewness = 4.5e-6 / (3.5e-4)^1.5 = 0.6872431; kurtosis = 24.5e-8 / (3.5e-4)² = 2.0
    # sample std = sqrt(14e-4 / 3) = 0.0216025; Sharpe = 0.03 / 0.0216025 = 1.3887301
    sharpe, skewness, kurtosis, count = return_moments([0.01, 0.02, 0.03, 0.06])
    assert (sharpe, skewness, kurtosis, count) == pytest.approx((1.3887301, 0.6872431, 2.0, 4), abs=1e-7)


def test_return_moments_constant_returns_give_nan() -> None:
    sharpe, skewness, kurtosis, count = return_moments([0.01, 0.01, 0.01])
    assert count == 3
    assert math.isnan(sharpe) and math.isnan(skewness) and math.isnan(kurtosis)


def test_deflated_sharpe_ratio_one_trial_reduces_to_psr_at_zero() -> None:
    returns = np.random.default_rng(7).normal(0.001, 0.01, 500)
    sharpe, skewness, kurtosis, count = return_moments(returns)
    expected = probabilistic_sharpe_ratio(sharpe, 0.0, count, skewness, kurtosis)
    assert deflated_sharpe_ratio(returns, trials=1, trials_sharpe_variance=0.01) == pytest.approx(expected)


def test_deflated_sharpe_ratio_more_trials_lower_the_probability() -> None:
    returns = np.random.default_rng(11).normal(0.002, 0.01, 750)
    ratios = [deflated_sharpe_ratio(returns, trials, 0.001) for trials in (1, 2, 10, 100, 1000)]
    assert all(later < earlier for earlier, later in itertools.pairwise(ratios))


def test_deflated_sharpe_ratio_too_few_returns_gives_nan() -> None:
    assert math.isnan(deflated_sharpe_ratio([0.01], trials=10, trials_sharpe_variance=0.01))


def test_expected_maximum_sharpe_scales_with_standard_deviation() -> None:
    assert expected_maximum_sharpe(0.0, 50) == 0.0
    assert expected_maximum_sharpe(0.04, 50) == pytest.approx(2 * expected_maximum_sharpe(0.01, 50))


@pytest.mark.parametrize(("trials", "variance"), [(0, 0.1), (10, -0.1), (10, math.nan)])
def test_expected_maximum_sharpe_invalid_arguments_raise_value_error(trials: int, variance: float) -> None:
    with pytest.raises(ValueError, match=r"trials|variance"):
        expected_maximum_sharpe(variance, trials)


def test_return_moments_non_finite_returns_raise_value_error() -> None:
    with pytest.raises(ValueError, match="finite"):
        return_moments([0.01, math.inf])


@settings(max_examples=50, deadline=None)
@given(
    sharpe=st.floats(min_value=-0.5, max_value=0.5),
    observations=st.integers(min_value=2, max_value=5000),
    variance=st.floats(min_value=1e-6, max_value=0.1),
    trials=st.integers(min_value=1, max_value=10_000),
)
def test_probabilistic_sharpe_ratio_deflation_is_a_probability_non_increasing_in_trials(
    sharpe: float, observations: int, variance: float, trials: int
) -> None:
    fewer = probabilistic_sharpe_ratio(sharpe, expected_maximum_sharpe(variance, trials), observations)
    more = probabilistic_sharpe_ratio(sharpe, expected_maximum_sharpe(variance, trials + 1), observations)
    assert 0.0 <= more <= fewer <= 1.0


def test_trial_variance_is_per_period_and_ignores_non_finite_trials() -> None:
    from traider.backtest.deflated_sharpe import trial_sharpe_variance

    annualised = [1.0, 2.0, float("-inf"), 4.0, float("nan")]
    per_period = np.array([1.0, 2.0, 4.0]) / math.sqrt(365.0)
    assert trial_sharpe_variance(annualised, 365.0) == pytest.approx(float(np.var(per_period, ddof=1)), rel=1e-12)
    assert trial_sharpe_variance([3.0, float("inf")], 365.0) == 0.0


def test_walk_forward_dsr_is_nan_on_too_few_returns_and_falls_with_more_trials() -> None:
    from traider.backtest.deflated_sharpe import walk_forward_dsr

    returns = np.random.default_rng(3).normal(0.001, 0.01, 500)
    assert math.isnan(walk_forward_dsr(returns[:2], 5, [1.0, 2.0], 365.0))
    few = walk_forward_dsr(returns, 2, [0.5, 1.5], 365.0)
    many = walk_forward_dsr(returns, 50, [0.5, 1.5] * 25, 365.0)
    assert 0.0 < many < few < 1.0
