"""The deflated Sharpe ratio (Bailey & López de Prado, 2014): is the best of N trials' Sharpe ratio real?

All Sharpe ratios here are per period (not annualised): mean / std(ddof=1) of simple returns, zero risk-free.
Kurtosis is the ordinary (not excess) kurtosis, 3 for normal returns; skewness and kurtosis are the
population-moment estimators m3 / m2^1.5 and m4 / m2^2.

- PSR(SR*) = Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2)), the probability that the
  true Sharpe ratio exceeds SR* given T observations.
- E[max SR] over N independent trials with Sharpe ratios of variance V and mean zero:
  sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e))), gamma the Euler-Mascheroni constant;
  defined as 0 for N = 1.
- DSR = PSR(E[max SR]).

Degenerate inputs give NaN (fewer than 2 returns, zero variance of returns, a non-positive radicand);
invalid arguments (N < 1, negative variance) raise a one-line ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

EULER_MASCHERONI = 0.5772156649015329
_STANDARD_NORMAL = NormalDist()


def return_moments(returns: npt.ArrayLike) -> tuple[float, float, float, int]:
    """Return the per-period Sharpe ratio, skewness, kurtosis and number of observations of `returns`."""
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ValueError("returns must be a one-dimensional sequence of finite numbers")
    count = len(values)
    if count < 2:
        return math.nan, math.nan, math.nan, count
    centred = values - values.mean()
    second = float(np.mean(centred**2))
    if second == 0:
        return math.nan, math.nan, math.nan, count
    sharpe = float(values.mean() / values.std(ddof=1))
    skewness = float(np.mean(centred**3)) / second**1.5
    kurtosis = float(np.mean(centred**4)) / second**2
    return sharpe, skewness, kurtosis, count


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark_sharpe: float, observations: int, skewness: float = 0.0, kurtosis: float = 3.0
) -> float:
    """Return the probability that the true per-period Sharpe ratio exceeds `benchmark_sharpe`."""
    if observations < 2:
        return math.nan
    radicand = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not radicand > 0:
        return math.nan
    statistic = (sharpe - benchmark_sharpe) * math.sqrt(observations - 1) / math.sqrt(radicand)
    return _STANDARD_NORMAL.cdf(statistic)


def expected_maximum_sharpe(trials_sharpe_variance: float, trials: int) -> float:
    """Return the expected maximum per-period Sharpe ratio of `trials` zero-skill trials with that variance."""
    if trials < 1:
        raise ValueError(f"the number of trials must be at least 1, got {trials}")
    if not trials_sharpe_variance >= 0:
        raise ValueError(
            f"the variance of the trials' Sharpe ratios must be non-negative, got {trials_sharpe_variance}"
        )
    if trials == 1:
        return 0.0
    quantile = _STANDARD_NORMAL.inv_cdf
    spread = (1.0 - EULER_MASCHERONI) * quantile(1.0 - 1.0 / trials) + EULER_MASCHERONI * quantile(
        1.0 - 1.0 / (trials * math.e)
    )
    return math.sqrt(trials_sharpe_variance) * spread


def deflated_sharpe_ratio(returns: npt.ArrayLike, trials: int, trials_sharpe_variance: float) -> float:
    """Return the probability that the selected strategy's `returns` beat the best of `trials` lucky ones."""
    benchmark = expected_maximum_sharpe(trials_sharpe_variance, trials)
    sharpe, skewness, kurtosis, count = return_moments(returns)
    return probabilistic_sharpe_ratio(sharpe, benchmark, count, skewness, kurtosis)


def trial_sharpe_variance(annualised_sharpes: Iterable[float], periods_per_year: float) -> float:
    """Return the sample variance (ddof=1) of the finite trials' per-period Sharpe ratios (0 with fewer than 2).

    Walk-forward evaluation and training both collect each fold's annualised training Sharpe for every
    parameter set tried; this turns them into the V of `expected_maximum_sharpe`.
    """
    scale = math.sqrt(periods_per_year)
    per_period = [value / scale for value in annualised_sharpes if math.isfinite(value)]
    return float(np.var(per_period, ddof=1)) if len(per_period) > 1 else 0.0


def walk_forward_dsr(
    returns: npt.ArrayLike, trials: int, annualised_sharpes: Iterable[float], periods_per_year: float
) -> float:
    """Return the deflated Sharpe ratio of stitched out-of-sample `returns` (NaN with fewer than 3 returns)."""
    values = np.asarray(returns, dtype=np.float64)
    if len(values) <= 2:
        return math.nan
    return deflated_sharpe_ratio(values, max(1, trials), trial_sharpe_variance(annualised_sharpes, periods_per_year))
