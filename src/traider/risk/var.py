"""Value at risk of a portfolio over one day at a confidence level: historical and parametric (normal).

Both take the positions' values in quote currency (signed: long > 0) and a history of the assets' daily
returns (rows = days, columns = assets in the positions' order), and return the loss not exceeded with the
given confidence as a positive amount (0 when the portfolio is flat).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def historical_var(positions: Array, returns: Array, confidence: float = 0.95) -> float:
    """Return the `confidence` quantile of the loss the positions would have made on each past day."""
    _check(positions, returns, confidence)
    if not np.any(positions):
        return 0.0
    pnl = returns @ positions
    loss = float(-np.quantile(pnl, 1.0 - confidence, method="linear"))
    return max(0.0, loss)


def parametric_var(positions: Array, returns: Array, confidence: float = 0.95) -> float:
    """Return z × σ of the portfolio's daily P&L (mean taken as 0) from the returns' covariance."""
    _check(positions, returns, confidence)
    if not np.any(positions):
        return 0.0
    covariance = np.atleast_2d(np.cov(returns, rowvar=False, ddof=1))
    variance = float(positions @ covariance @ positions)
    return NormalDist().inv_cdf(confidence) * math.sqrt(max(variance, 0.0))


def max_abs_correlation(returns: Array, held: npt.NDArray[np.bool_]) -> float:
    """Return the largest |correlation| between two different held assets' returns (0 with fewer than two)."""
    columns = np.flatnonzero(held)
    if len(columns) < 2:
        return 0.0
    matrix = np.atleast_2d(np.asarray(np.corrcoef(returns[:, columns], rowvar=False), dtype=np.float64))
    np.fill_diagonal(matrix, 0.0)
    return float(np.nanmax(np.abs(matrix)))


def _check(positions: Array, returns: Array, confidence: float) -> None:
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0.5, 1), not {confidence}")
    if returns.ndim != 2 or returns.shape[1] != positions.shape[0]:
        raise ValueError(f"returns must be days × {positions.shape[0]} assets, not {returns.shape}")
    if returns.shape[0] < 2:
        raise ValueError("VaR needs at least two days of returns")
