"""Block bootstrap: determinism, resampling properties, autocorrelation and speed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from traider.backtest.metrics import sharpe_ratios
from traider.backtest.montecarlo import BootstrapMethod, bootstrap_indices, bootstrap_returns, monte_carlo

RETURNS = np.random.default_rng(0).normal(0.001, 0.01, 250)


def _ar1(phi: float, count: int, seed: int) -> npt.NDArray[np.float64]:
    shocks = np.random.default_rng(seed).normal(0.0, 0.01, count)
    series = np.empty(count)
    series[0] = shocks[0]
    for step in range(1, count):
        series[step] = phi * series[step - 1] + shocks[step]
    return series


def _mean_lag1_autocorrelation(paths: npt.NDArray[np.float64]) -> float:
    centred = paths - paths.mean(axis=1, keepdims=True)
    lagged = (centred[:, 1:] * centred[:, :-1]).sum(axis=1) / (centred**2).sum(axis=1)
    return float(lagged.mean())


@pytest.mark.parametrize("method", ["stationary", "fixed"])
def test_monte_carlo_same_seed_gives_identical_distributions(method: BootstrapMethod) -> None:
    first = monte_carlo(RETURNS, paths=200, block_length=5, seed=42, method=method, periods_per_year=365)
    again = monte_carlo(RETURNS, paths=200, block_length=5, seed=42, method=method, periods_per_year=365)
    other = monte_carlo(RETURNS, paths=200, block_length=5, seed=43, method=method, periods_per_year=365)
    np.testing.assert_array_equal(first.sharpe_ratios, again.sharpe_ratios)
    np.testing.assert_array_equal(first.max_drawdowns, again.max_drawdowns)
    assert first.sharpe_percentiles == again.sharpe_percentiles
    assert not np.array_equal(first.sharpe_ratios, other.sharpe_ratios)


def test_monte_carlo_paths_match_metrics_on_the_bootstrapped_returns() -> None:
    result = monte_carlo(RETURNS, paths=50, block_length=10, seed=3, periods_per_year=365)
    paths = bootstrap_returns(RETURNS, paths=50, block_length=10, seed=3)
    np.testing.assert_allclose(result.sharpe_ratios, sharpe_ratios(paths, 365))
    equity = np.cumprod(1.0 + paths, axis=1)
    peaks = np.maximum.accumulate(np.maximum(equity, 1.0), axis=1)
    np.testing.assert_allclose(result.max_drawdowns, (1.0 - equity / peaks).max(axis=1))


def test_monte_carlo_percentiles_are_ordered_and_drawdowns_within_unit_interval() -> None:
    result = monte_carlo(RETURNS, paths=500, block_length=20, seed=1, periods_per_year=365)
    assert list(result.sharpe_percentiles) == [5.0, 25.0, 50.0, 75.0, 95.0]
    assert list(result.sharpe_percentiles.values()) == sorted(result.sharpe_percentiles.values())
    assert list(result.max_drawdown_percentiles.values()) == sorted(result.max_drawdown_percentiles.values())
    assert np.all((result.max_drawdowns >= 0) & (result.max_drawdowns < 1))
    assert result.sharpe_percentiles[50.0] == pytest.approx(np.median(result.sharpe_ratios))


def test_monte_carlo_daily_series_infers_periods_per_year() -> None:
    series = pd.Series(RETURNS, index=pd.date_range("2024-01-01", periods=len(RETURNS), freq="D", tz="UTC"))
    inferred = monte_carlo(series, paths=100, seed=5)
    explicit = monte_carlo(RETURNS, paths=100, seed=5, periods_per_year=365)
    np.testing.assert_allclose(inferred.sharpe_ratios, explicit.sharpe_ratios)


def test_bootstrap_returns_block_length_one_preserves_mean_in_distribution() -> None:
    paths = bootstrap_returns(RETURNS, paths=4000, block_length=1, seed=9)
    assert np.isin(paths, RETURNS).all()
    # Each path is a resample, not a permutation: path means vary, their mean is the sample mean.
    assert paths.mean(axis=1).std() > 0
    standard_error = RETURNS.std() / np.sqrt(len(RETURNS) * 4000)
    assert paths.mean() == pytest.approx(RETURNS.mean(), abs=5 * standard_error)


def test_bootstrap_returns_blocks_keep_ar1_autocorrelation_better_than_iid() -> None:
    series = _ar1(0.8, 2000, seed=2)
    observed = _mean_lag1_autocorrelation(series[None, :])
    methods: tuple[BootstrapMethod, ...] = ("stationary", "fixed")
    for method in methods:
        blocks = bootstrap_returns(series, paths=200, block_length=50, seed=4, method=method)
        iid = bootstrap_returns(series, paths=200, block_length=1, seed=4, method=method)
        assert observed > 0.7
        assert _mean_lag1_autocorrelation(blocks) > observed - 0.1
        assert abs(_mean_lag1_autocorrelation(iid)) < 0.05


def test_bootstrap_indices_fixed_blocks_are_contiguous_and_circular() -> None:
    indices = bootstrap_indices(23, paths=30, block_length=5, rng=np.random.default_rng(0), method="fixed")
    assert indices.shape == (30, 23)
    blocks = np.pad(indices, ((0, 0), (0, 2)), constant_values=-1)[:, :25].reshape(30, 5, 5)
    expected = (blocks[:, :, :1] + np.arange(5)) % 23
    mask = blocks >= 0
    np.testing.assert_array_equal(blocks[mask], expected[mask])


def test_bootstrap_indices_stationary_blocks_have_the_requested_mean_length() -> None:
    indices = bootstrap_indices(1000, paths=200, block_length=10, rng=np.random.default_rng(0))
    continues = indices[:, 1:] == (indices[:, :-1] + 1) % 1000
    # A new block starts with probability 1/10 (and continues by chance with probability 1/1000).
    assert 1 - continues.mean() == pytest.approx(0.1 * (1 - 1 / 1000), abs=0.005)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"returns": [], "periods_per_year": 365}, "non-empty"),
        ({"returns": [0.01, -1.5], "periods_per_year": 365}, "above -1"),
        ({"returns": [0.01, 0.02]}, "periods_per_year"),
        ({"returns": [0.01, 0.02], "periods_per_year": 365, "block_length": 0.5}, "block_length"),
        ({"returns": [0.01, 0.02], "periods_per_year": 365, "method": "moving"}, "method"),
        ({"returns": [0.01, 0.02], "periods_per_year": 365, "paths": 0}, "paths"),
    ],
)
def test_monte_carlo_invalid_input_raises_value_error(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        monte_carlo(**{"paths": 10, **arguments})  # type: ignore[arg-type]


def test_monte_carlo_constant_returns_give_zero_drawdown() -> None:
    result = monte_carlo([0.01] * 30, paths=20, seed=0, periods_per_year=365)
    assert np.all(result.max_drawdowns == 0.0)


def test_monte_carlo_ten_thousand_paths_of_a_thousand_returns_have_one_value_each() -> None:
    returns = np.random.default_rng(1).normal(0.0005, 0.01, 1000)
    result = monte_carlo(returns, paths=10_000, block_length=20, seed=0, periods_per_year=365)
    assert result.sharpe_ratios.shape == result.max_drawdowns.shape == (10_000,)
