"""How much of each pre-trade risk limit the book uses now, for the dashboard.

The limits are those the worker trades under (`PreTradeLimits.for_mode`), VaR and correlation are computed with
the same functions as its pre-trade check (`traider.risk.var`), over the daily returns of the held instruments.
Inputs are already small: a few positions and ~90 daily closes per instrument, aggregated in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from traider.dashboard import queries
from traider.risk.pretrade import Mode, PreTradeLimits
from traider.risk.var import historical_var, max_abs_correlation, parametric_var

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

Status = Literal["ok", "warning", "breached", "off", "unknown"]
WARNING_AT = 0.8
LIVE_PROFILES: tuple[Mode, ...] = ("live_small", "live_institutional")


@dataclass(frozen=True)
class LimitUse:
    """One limit: the value now, the bound (None: the limit is off in this mode), the share used and a status."""

    name: str
    value: float | None
    bound: float | None
    unit: str
    detail: str = ""

    @property
    def used(self) -> float | None:
        """Return value / bound (None when either is unknown or the limit is off)."""
        if self.value is None or self.bound is None or self.bound <= 0:
            return None
        return self.value / self.bound

    @property
    def status(self) -> Status:
        """Return `off`, `unknown`, `ok`, `warning` (≥ 80 % used) or `breached` (≥ 100 %)."""
        if self.bound is None:
            return "off"
        used = self.used
        if used is None:
            return "unknown"
        return "breached" if used >= 1.0 else "warning" if used >= WARNING_AT else "ok"


@dataclass(frozen=True)
class VarEstimate:
    """One-day VaR of the held positions: historical, parametric (normal) and the larger, over `days` returns."""

    historical: float
    parametric: float
    days: int
    confidence: float

    @property
    def value(self) -> float:
        """Return the larger estimate, which the pre-trade check compares with its limit."""
        return max(self.historical, self.parametric)


def returns_matrix(closes: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Turn `queries.daily_closes` (venue, symbol, day, close) into daily returns, one column per `labels` entry.

    Only days on which every instrument has a return are kept (VaR and correlation need a full row).
    """
    if closes.empty:
        return pd.DataFrame(columns=labels, dtype=float)
    frame = closes.assign(label=closes["venue"] + ":" + closes["symbol"])
    wide = frame.pivot_table(index="day", columns="label", values="close", aggfunc="last").sort_index()
    wide = wide.reindex(columns=labels).astype(float)
    return wide.pct_change(fill_method=None).dropna(how="any")


def var_estimate(notionals: Mapping[str, float], returns: pd.DataFrame, confidence: float = 0.95) -> VarEstimate | None:
    """Return the one-day VaR of positions worth `notionals` (label → signed value) given their daily returns."""
    labels = [label for label, value in notionals.items() if value != 0.0]
    if not labels or len(returns) < 2 or any(label not in returns.columns for label in labels):
        return None
    history: npt.NDArray[np.float64] = returns[labels].to_numpy(dtype=np.float64)
    values = np.asarray([notionals[label] for label in labels], dtype=np.float64)
    return VarEstimate(
        historical_var(values, history, confidence),
        parametric_var(values, history, confidence),
        len(history),
        confidence,
    )


def correlation_matrix(returns: pd.DataFrame) -> pd.DataFrame:
    """Return the correlation matrix of the daily returns (empty with fewer than two days or instruments)."""
    if returns.shape[0] < 2 or returns.shape[1] < 2:
        return pd.DataFrame()
    return returns.corr()


def limit_usage(
    limits: PreTradeLimits,
    *,
    capital: float,
    day_pnl: float,
    notionals: Mapping[str, float],
    returns: pd.DataFrame,
    orders_last_minute: int,
    data_age_s: float | None,
) -> list[LimitUse]:
    """Return the use of every pre-trade limit, in the order the check applies them."""
    held = {label: value for label, value in notionals.items() if value != 0.0}
    fractions = [
        bound
        for bound in (
            limits.daily_loss_usd,
            None if limits.daily_loss_fraction is None else limits.daily_loss_fraction * capital,
        )
        if bound is not None
    ]
    caps = [
        bound
        for bound in (
            limits.max_position_usd,
            None if limits.max_position_fraction is None else limits.max_position_fraction * capital,
        )
        if bound is not None
    ]
    largest = max(held.items(), key=lambda item: abs(item[1]), default=None)
    var = var_estimate(held, returns, limits.var_confidence)
    held_returns = returns[[label for label in held if label in returns.columns]] if held else returns.iloc[:, :0]
    if len(held) < 2:
        correlation: float | None = 0.0
    elif held_returns.shape[0] >= 2 and held_returns.shape[1] == len(held):
        correlation = max_abs_correlation(held_returns.to_numpy(dtype=np.float64), np.ones(len(held), dtype=bool))
    else:
        correlation = None
    return [
        LimitUse("stale market data", data_age_s, limits.stale_after_s, "s", "age of the stalest traded instrument"),
        LimitUse(
            "daily loss",
            max(0.0, -day_pnl),
            min(fractions) if fractions else None,
            "USD",
            f"P&L today {day_pnl:,.2f}",
        ),
        LimitUse(
            "order rate",
            float(orders_last_minute),
            None if limits.max_orders_per_minute is None else float(limits.max_orders_per_minute),
            "orders/min",
        ),
        LimitUse(
            "max position",
            abs(largest[1]) if largest else 0.0,
            min(caps) if caps else None,
            "USD",
            f"largest: {largest[0]}" if largest else "no open position",
        ),
        LimitUse("gross exposure", sum(abs(value) for value in held.values()), limits.max_total_usd, "USD"),
        LimitUse(
            f"VaR {limits.var_confidence:.0%} 1 day",
            0.0 if not held else None if var is None else var.value,
            None if limits.var_limit_fraction is None else limits.var_limit_fraction * capital,
            "USD",
            "no position" if not held else "not enough daily returns" if var is None else f"{var.days} days",
        ),
        LimitUse(
            "correlation",
            correlation,
            limits.max_correlation,
            "|ρ|",
            "fewer than two held instruments"
            if len(held) < 2
            else "not enough daily returns"
            if correlation is None
            else "largest between two held instruments",
        ),
    ]


@dataclass(frozen=True)
class BookRisk:
    """The book of some modes seen by the pre-trade limits: every limit's use, VaR and the returns behind them."""

    limits: PreTradeLimits
    uses: tuple[LimitUse, ...]
    notionals: dict[str, float]
    returns: pd.DataFrame
    var: VarEstimate | None
    capital: float
    day_pnl: float


def limits_for(modes: Sequence[str], live_profile: Mode = "live_small") -> PreTradeLimits:
    """Return the limits the workers of `modes` trade under: live's profile when live is among them, else paper's."""
    return PreTradeLimits.for_mode(live_profile if "live" in modes else "paper")


def book_risk(
    engine: Engine,
    modes: Sequence[str],
    limits: PreTradeLimits,
    *,
    days: int = 90,
    now: datetime | None = None,
) -> BookRisk:
    """Read the book of `modes` (each part aggregated in SQL) and return how much of each limit it uses."""
    series = queries.pnl_series(engine, modes, now=now)
    totals = queries.pnl_totals(series)
    held = queries.positions(engine, modes)
    notionals: dict[str, float] = {}
    for venue, symbol, notional in zip(held["venue"], held["symbol"], held["notional"], strict=True):
        label = f"{venue}:{symbol}"
        notionals[label] = notionals.get(label, 0.0) + (0.0 if pd.isna(notional) else float(notional))
    instruments = [queries.Instrument(*label.split(":", 1)) for label in notionals]
    returns = returns_matrix(queries.daily_closes(engine, instruments, days=days), list(notionals))
    uses = limit_usage(
        limits,
        capital=totals["equity"],
        day_pnl=totals["pnl_today"],
        notionals=notionals,
        returns=returns,
        orders_last_minute=queries.orders_last_minute(engine, modes, now=now),
        data_age_s=queries.market_data_age(engine, queries.traded_instruments(engine, modes), now=now),
    )
    return BookRisk(
        limits,
        tuple(uses),
        notionals,
        returns,
        var_estimate(notionals, returns, limits.var_confidence),
        totals["equity"],
        totals["pnl_today"],
    )


def usage_table(uses: Sequence[LimitUse]) -> pd.DataFrame:
    """Return limit uses as a table: limit, now, bound, unit, used (fraction), status, detail."""
    return pd.DataFrame(
        [
            {
                "limit": use.name,
                "now": use.value,
                "bound": use.bound,
                "unit": use.unit,
                "used": use.used,
                "status": use.status,
                "detail": use.detail,
            }
            for use in uses
        ],
        columns=["limit", "now", "bound", "unit", "used", "status", "detail"],
    )
