from __future__ import annotations

import numpy as np
import pytest

from traider.risk.var import historical_var, max_abs_correlation, parametric_var


def test_historical_var_is_the_loss_quantile_of_past_days_pnl() -> None:
    returns = np.array([[-0.10], [-0.05], [0.0], [0.02], [0.04]] * 4)  # 20 days
    # P&L of a 1,000 long: -100 (4 days), -50 (4), 0, 20, 40; the 5% quantile of 20 values, linear: -100
    assert historical_var(np.array([1_000.0]), returns, 0.95) == pytest.approx(100.0)
    # a short profits on those days: its worst days are the +4% ones
    assert historical_var(np.array([-1_000.0]), returns, 0.95) == pytest.approx(40.0)


def test_parametric_var_is_z_times_portfolio_sigma() -> None:
    rng = np.random.default_rng(1)
    returns = rng.normal(0.0, 0.02, size=(500, 2))
    positions = np.array([1_000.0, -500.0])
    sigma = np.sqrt(positions @ np.cov(returns, rowvar=False) @ positions)
    assert parametric_var(positions, returns, 0.95) == pytest.approx(1.6448536269514722 * sigma)


def test_a_flat_portfolio_has_no_var() -> None:
    returns = np.zeros((10, 2))
    assert historical_var(np.zeros(2), returns) == parametric_var(np.zeros(2), returns) == 0.0


def test_var_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="days × 2 assets"):
        historical_var(np.ones(2), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="confidence"):
        parametric_var(np.ones(1), np.zeros((10, 1)), confidence=1.0)


def test_max_abs_correlation_among_held_assets() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(size=300)
    returns = np.column_stack([base, -base + rng.normal(0, 0.01, 300), rng.normal(size=300)])
    assert max_abs_correlation(returns, np.array([True, True, False])) > 0.99
    assert max_abs_correlation(returns, np.array([True, False, True])) < 0.2
    assert max_abs_correlation(returns, np.array([True, False, False])) == 0.0
