"""Monte Carlo by block bootstrap of returns: distributions of the Sharpe ratio and the max drawdown.

Each path resamples the n observed simple returns in blocks, wrapping around the end (circular):

- "stationary" (Politis & Romano, 1994): block lengths are geometric with mean `block_length`; each period
  starts a new block with probability 1 / block_length.
- "fixed": consecutive blocks of exactly `block_length` (rounded down) returns, the last one cut at n.

A block length of 1 is the iid bootstrap. Paths are compounded from an equity of 1; Sharpe and max
drawdown follow `traider.backtest.metrics` (annualised Sharpe, max drawdown as a positive fraction); a
path of constant returns has an infinite or NaN Sharpe, kept in the array but left out of the percentiles.
Work is done in chunks of paths, so memory stays bounded for 10,000 paths x 1,000 returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from traider.backtest.metrics import infer_periods_per_year, max_drawdowns, sharpe_ratios

BootstrapMethod = Literal["stationary", "fixed"]
DEFAULT_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Per-path Sharpe ratios and max drawdowns, and their percentiles keyed by percent."""

    sharpe_ratios: npt.NDArray[np.float64]
    max_drawdowns: npt.NDArray[np.float64]
    sharpe_percentiles: dict[float, float] = field(default_factory=dict)
    max_drawdown_percentiles: dict[float, float] = field(default_factory=dict)


def bootstrap_indices(
    observations: int,
    paths: int,
    block_length: float,
    rng: np.random.Generator,
    method: BootstrapMethod = "stationary",
) -> npt.NDArray[np.int64]:
    """Return a (paths x observations) array of resampled positions into a series of `observations`."""
    if observations < 1 or paths < 1:
        raise ValueError("observations and paths must both be at least 1")
    if not block_length >= 1:
        raise ValueError(f"block_length must be at least 1, got {block_length}")
    steps = np.arange(observations)
    if method == "fixed":
        length = int(block_length)
        blocks = -(-observations // length)
        starts = rng.integers(0, observations, size=(paths, blocks))
        positions = starts[:, :, None] + np.arange(length)
        return np.asarray(positions.reshape(paths, blocks * length)[:, :observations] % observations, dtype=np.int64)
    if method != "stationary":
        raise ValueError(f"method must be 'stationary' or 'fixed', got {method!r}")
    new_block = rng.random((paths, observations)) < 1.0 / block_length
    new_block[:, 0] = True
    starts = rng.integers(0, observations, size=(paths, observations))
    # Position of the latest block start at or before each step, then the offset into that block.
    latest = np.maximum.accumulate(np.where(new_block, steps, 0), axis=1)
    offsets = steps - latest
    return np.asarray((np.take_along_axis(starts, latest, axis=1) + offsets) % observations, dtype=np.int64)


def bootstrap_returns(
    returns: npt.ArrayLike,
    paths: int,
    block_length: float,
    seed: int | np.random.Generator | None = None,
    method: BootstrapMethod = "stationary",
) -> npt.NDArray[np.float64]:
    """Return a (paths x n) array of block-bootstrapped returns."""
    values = _as_returns(returns)
    rng = np.random.default_rng(seed)
    return values[bootstrap_indices(len(values), paths, block_length, rng, method)]


def monte_carlo(
    returns: npt.ArrayLike | pd.Series,
    *,
    paths: int = 10_000,
    block_length: float = 20.0,
    seed: int | np.random.Generator | None = None,
    method: BootstrapMethod = "stationary",
    periods_per_year: float | None = None,
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES,
) -> MonteCarloResult:
    """Bootstrap `paths` return paths and return the distributions of their Sharpe ratio and max drawdown."""
    if paths < 1:
        raise ValueError(f"paths must be at least 1, got {paths}")
    if periods_per_year is None:
        if not isinstance(returns, pd.Series):
            raise ValueError("pass periods_per_year, or returns as a pandas Series indexed by UTC timestamps")
        periods_per_year = infer_periods_per_year(returns.index)
    values = _as_returns(returns)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // len(values))
    sharpe = np.empty(paths, dtype=np.float64)
    drawdown = np.empty(paths, dtype=np.float64)
    for first in range(0, paths, chunk):
        count = min(chunk, paths - first)
        sample = values[bootstrap_indices(len(values), count, block_length, rng, method)]
        growth = np.concatenate((np.ones((count, 1), dtype=np.float64), 1.0 + sample), axis=1)
        equity = np.asarray(np.cumprod(growth, axis=1), dtype=np.float64)
        sharpe[first : first + count] = sharpe_ratios(sample, periods_per_year)
        drawdown[first : first + count] = max_drawdowns(equity)
    return MonteCarloResult(
        sharpe_ratios=sharpe,
        max_drawdowns=drawdown,
        sharpe_percentiles=_percentiles(sharpe, percentiles),
        max_drawdown_percentiles=_percentiles(drawdown, percentiles),
    )


def _as_returns(returns: npt.ArrayLike | pd.Series) -> npt.NDArray[np.float64]:
    """Return the returns as a float array, or raise a one-line ValueError."""
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)) or np.any(values <= -1):
        raise ValueError("returns must be a non-empty one-dimensional sequence of finite numbers above -1")
    return values


def _percentiles(values: npt.NDArray[np.float64], percents: tuple[float, ...]) -> dict[float, float]:
    """Return the percentiles of the finite values (NaN when none is finite)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return dict.fromkeys(percents, math.nan)
    return {percent: float(np.percentile(finite, percent)) for percent in percents}
