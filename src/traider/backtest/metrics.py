"""Performance statistics of a backtest: return, risk, drawdown, trades, costs and exposure.

Conventions, chosen once for every report:

- Returns are simple: r_t = E_t / E_{t-1} - 1 (never log returns). Equity must be positive.
- Annualisation: crypto trades 365 days x 24 hours, so a year is 31,536,000 seconds and
  periods_per_year = 31,536,000 / median bar spacing in seconds (1h bars -> 8,760; 1d bars -> 365),
  unless given explicitly.
- Total return = E_end / E_start - 1. Annualised return is geometric: (1 + total)^(periods_per_year / n) - 1
  over the n returns.
- Volatility = sample standard deviation (ddof=1) of the returns x sqrt(periods_per_year).
- Sharpe = mean(r - rf / periods_per_year) / std(r, ddof=1) x sqrt(periods_per_year); rf is an annual
  rate, zero by default.
- Sortino = mean(r - rf / periods_per_year) / downside deviation x sqrt(periods_per_year), with downside
  deviation = sqrt(mean(min(r - rf / periods_per_year, 0)^2)) taken over all n periods (Sortino & Price).
- Max drawdown = max_t (1 - E_t / max_{s<=t} E_s), a positive fraction in [0, 1).
- A drawdown episode lasts from its peak to the first time equity is back at or above the peak, or to
  the last timestamp if it never recovers. `max_drawdown_duration` is the episode of the max drawdown;
  `longest_drawdown_duration` the longest episode. No drawdown gives a zero duration.
- Calmar = annualised return / max drawdown.
- Win rate = trades with pnl > 0 / all trades (breakeven trades are not wins).
- Profit factor = gross profit / gross loss = sum(pnl > 0) / |sum(pnl < 0)|.
- Positions are signed notional values in the equity's currency, on the equity's index, held from that
  timestamp. Turnover = sum |delta position| (the first position counts from zero) / mean equity / years,
  with years = n / periods_per_year. Exposure time = share of timestamps with a non-zero position;
  average gross exposure = mean(|position| / equity).
- Fees and slippage paid are totals in the equity's currency, reported as given.

Degenerate inputs give defined values, never exceptions: fewer than two returns -> NaN ratios; a zero
denominator gives +/-inf when the numerator is non-zero and NaN when it is zero (constant equity has
Sharpe NaN, volatility 0, max drawdown 0; trades without losses have profit factor inf); no trades ->
win rate and profit factor NaN; no positions -> turnover and exposures NaN; empty equity -> NaN
everywhere and zero durations. Only clearly invalid input raises a one-line ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

SECONDS_PER_YEAR = 365 * 24 * 3600
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PerformanceReport:
    """Every statistic of one backtest; see the module docstring for the definitions."""

    start: datetime | None
    end: datetime | None
    periods: int
    periods_per_year: float
    total_return: float
    annualised_return: float
    annualised_volatility: float
    sharpe_ratio: float
    sortino_ratio: float
    calmar_ratio: float
    max_drawdown: float
    max_drawdown_duration: timedelta
    longest_drawdown_duration: timedelta
    trade_count: int
    win_rate: float
    profit_factor: float
    turnover: float
    exposure_time: float
    average_gross_exposure: float
    fees_paid: float
    slippage_paid: float
    funding_received: float = 0.0

    def to_dict(self) -> dict[str, float | int | str | None]:
        """Return a JSON-safe dict: non-finite floats become None, times ISO 8601, durations `<name>_seconds`."""
        result: dict[str, float | int | str | None] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, timedelta):
                result[f"{field.name}_seconds"] = value.total_seconds()
            elif isinstance(value, datetime):
                result[field.name] = value.isoformat()
            elif isinstance(value, int) or value is None:
                result[field.name] = value
            else:
                result[field.name] = float(value) if math.isfinite(value) else None
        return result


def infer_periods_per_year(index: pd.Index) -> float:
    """Return bars per 365 x 24 h year from the median spacing of a DatetimeIndex (NaN with fewer than 2 bars)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError("the index must be a pandas DatetimeIndex of UTC timestamps; or pass periods_per_year")
    if len(index) < 2:
        return math.nan
    spacing = pd.Series(index).diff().dropna().median().total_seconds()
    if spacing <= 0:
        raise ValueError("the index must be strictly increasing")
    return SECONDS_PER_YEAR / spacing


def _safe_ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """Divide, giving +/-inf for x/0 and NaN for 0/0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(numerator / denominator, dtype=np.float64)


def sharpe_ratios(returns: FloatArray, periods_per_year: float, risk_free_rate: float = 0.0) -> FloatArray:
    """Return the annualised Sharpe ratio of each row of `returns` (paths x periods)."""
    if returns.shape[-1] < 2:
        return np.full(returns.shape[:-1], math.nan)
    excess_mean = returns.mean(axis=-1) - risk_free_rate / periods_per_year
    return _safe_ratio(excess_mean, returns.std(axis=-1, ddof=1)) * math.sqrt(periods_per_year)


def sortino_ratios(returns: FloatArray, periods_per_year: float, risk_free_rate: float = 0.0) -> FloatArray:
    """Return the annualised Sortino ratio of each row of `returns` (paths x periods)."""
    if returns.shape[-1] < 2:
        return np.full(returns.shape[:-1], math.nan)
    excess = returns - risk_free_rate / periods_per_year
    downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2, axis=-1))
    return _safe_ratio(excess.mean(axis=-1), downside) * math.sqrt(periods_per_year)


def max_drawdowns(equity: FloatArray) -> FloatArray:
    """Return the max drawdown (positive fraction) of each row of positive `equity` (paths x timestamps)."""
    if equity.shape[-1] == 0:
        return np.full(equity.shape[:-1], math.nan)
    peaks = np.maximum.accumulate(equity, axis=-1)
    return np.asarray(np.max(1.0 - equity / peaks, axis=-1), dtype=np.float64)


def drawdown_durations(equity: pd.Series) -> tuple[timedelta, timedelta]:
    """Return the duration of the max drawdown's episode and of the longest episode, peak to recovery or end."""
    values = equity.to_numpy(dtype=np.float64)
    if len(values) == 0:
        return timedelta(0), timedelta(0)
    times = pd.DatetimeIndex(equity.index)
    peaks = np.maximum.accumulate(values)
    underwater = values < peaks
    drawdown = 1.0 - values / peaks
    deepest = int(np.argmax(drawdown))
    of_max, longest = timedelta(0), timedelta(0)
    edges = np.diff(np.concatenate(([0], underwater.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    for first, stop in zip(starts, stops, strict=True):
        # Underwater from `first` to `stop - 1`: the peak is the bar before, recovery the bar at `stop`.
        duration = (times[min(stop, len(values) - 1)] - times[first - 1]).to_pytimedelta()
        longest = max(longest, duration)
        if first <= deepest < stop:
            of_max = duration
    return of_max, longest


def trade_statistics(trade_pnls: Sequence[float] | FloatArray | pd.Series) -> tuple[int, float, float]:
    """Return the trade count, win rate and profit factor of per-trade pnls."""
    pnls = np.asarray(trade_pnls, dtype=np.float64)
    if not np.all(np.isfinite(pnls)):
        raise ValueError("trade pnls must be finite numbers")
    if len(pnls) == 0:
        return 0, math.nan, math.nan
    gross_profit = np.asarray(pnls[pnls > 0].sum())
    gross_loss = np.asarray(abs(pnls[pnls < 0].sum()))
    return len(pnls), float(np.mean(pnls > 0)), float(_safe_ratio(gross_profit, gross_loss))


def position_statistics(positions: pd.Series, equity: pd.Series, periods_per_year: float) -> tuple[float, float, float]:
    """Return turnover per year, exposure time and average gross exposure of signed notional positions."""
    if not positions.index.equals(equity.index):
        raise ValueError("positions must be indexed by the same timestamps as the equity curve")
    notional = positions.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(notional)):
        raise ValueError("positions must be finite numbers")
    if len(notional) == 0:
        return math.nan, math.nan, math.nan
    values = equity.to_numpy(dtype=np.float64)
    traded = float(np.abs(np.diff(notional, prepend=0.0)).sum())
    years = (len(values) - 1) / periods_per_year
    turnover = traded / float(values.mean()) / years if years > 0 else math.nan
    return turnover, float(np.mean(notional != 0)), float(np.mean(np.abs(notional) / values))


def _validate_equity(equity: pd.Series) -> None:
    """Raise a one-line ValueError unless `equity` is a positive, finite series on increasing timestamps."""
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise ValueError("equity must be indexed by a pandas DatetimeIndex of UTC timestamps")
    if not (equity.index.is_monotonic_increasing and equity.index.is_unique):
        raise ValueError("equity timestamps must be strictly increasing; sort and de-duplicate them first")
    values = equity.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("equity values must be finite and positive")


def performance_report(
    equity: pd.Series,
    *,
    periods_per_year: float | None = None,
    risk_free_rate: float = 0.0,
    trade_pnls: Sequence[float] | FloatArray | pd.Series | None = None,
    positions: pd.Series | None = None,
    fees_paid: float = 0.0,
    slippage_paid: float = 0.0,
    funding_received: float = 0.0,
) -> PerformanceReport:
    """Compute every statistic of an equity curve indexed by UTC timestamps."""
    _validate_equity(equity)
    if periods_per_year is None:
        periods_per_year = infer_periods_per_year(equity.index)
    elif not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ValueError(f"periods_per_year must be a positive number, got {periods_per_year}")
    values = equity.to_numpy(dtype=np.float64)
    returns = values[1:] / values[:-1] - 1.0
    n = len(returns)
    total_return = float(values[-1] / values[0] - 1.0) if len(values) else math.nan
    with np.errstate(over="ignore"):
        annualised = float(np.expm1(np.log1p(total_return) * periods_per_year / n)) if n else math.nan
    volatility = float(np.std(returns, ddof=1) * math.sqrt(periods_per_year)) if n >= 2 else math.nan
    max_drawdown = float(max_drawdowns(values))
    trade_count, win_rate, profit_factor = trade_statistics(() if trade_pnls is None else trade_pnls)
    exposures = (math.nan,) * 3 if positions is None else position_statistics(positions, equity, periods_per_year)
    of_max, longest = drawdown_durations(equity)
    return PerformanceReport(
        start=equity.index[0].to_pydatetime() if len(values) else None,
        end=equity.index[-1].to_pydatetime() if len(values) else None,
        periods=n,
        periods_per_year=periods_per_year,
        total_return=total_return,
        annualised_return=annualised,
        annualised_volatility=volatility,
        sharpe_ratio=float(sharpe_ratios(returns, periods_per_year, risk_free_rate)),
        sortino_ratio=float(sortino_ratios(returns, periods_per_year, risk_free_rate)),
        calmar_ratio=float(_safe_ratio(np.asarray(annualised), np.asarray(max_drawdown))),
        max_drawdown=max_drawdown,
        max_drawdown_duration=of_max,
        longest_drawdown_duration=longest,
        trade_count=trade_count,
        win_rate=win_rate,
        profit_factor=profit_factor,
        turnover=exposures[0],
        exposure_time=exposures[1],
        average_gross_exposure=exposures[2],
        fees_paid=float(fees_paid),
        slippage_paid=float(slippage_paid),
        funding_received=float(funding_received),
    )


def equity_from_returns(
    returns: pd.Series, initial_equity: float = 1.0, periods_per_year: float | None = None
) -> pd.Series:
    """Compound simple returns into an equity curve starting one bar (median spacing) before the first return."""
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise ValueError("returns must be indexed by a pandas DatetimeIndex of UTC timestamps")
    if len(returns) == 0:
        return pd.Series([], index=returns.index, dtype=np.float64)
    if len(returns) >= 2:
        frequency = infer_periods_per_year(returns.index)
    elif periods_per_year is not None:
        frequency = periods_per_year
    else:
        raise ValueError("cannot infer the bar spacing from a single return; pass periods_per_year")
    start = returns.index[0] - pd.Timedelta(seconds=SECONDS_PER_YEAR / frequency)
    values = initial_equity * np.cumprod(np.concatenate(([1.0], 1.0 + returns.to_numpy(dtype=np.float64))))
    return pd.Series(values, index=returns.index.insert(0, start), name=returns.name)


def performance_report_from_returns(
    returns: pd.Series,
    *,
    initial_equity: float = 1.0,
    periods_per_year: float | None = None,
    risk_free_rate: float = 0.0,
    trade_pnls: Sequence[float] | FloatArray | pd.Series | None = None,
    fees_paid: float = 0.0,
    slippage_paid: float = 0.0,
    funding_received: float = 0.0,
) -> PerformanceReport:
    """Compute every statistic from per-period simple returns; for positions use `equity_from_returns` first."""
    equity = equity_from_returns(returns, initial_equity, periods_per_year)
    return performance_report(
        equity,
        periods_per_year=periods_per_year,
        risk_free_rate=risk_free_rate,
        trade_pnls=trade_pnls,
        fees_paid=fees_paid,
        slippage_paid=slippage_paid,
        funding_received=funding_received,
    )
