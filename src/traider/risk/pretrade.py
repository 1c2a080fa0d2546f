"""The pre-trade check every order passes, in the worker and in the event-driven backtest alike.

In order, an order is:
1. refused when the market data is stale (last tick older than `stale_after_s`) — no orders at all;
2. limited to shrinking exposure while the kill switch is on or the daily loss limit is breached;
3. refused beyond `max_orders_per_minute`;
4. cut so that the asset's position stays within `max_position_usd` / `max_position_fraction` of capital and
   the gross exposure within `max_total_usd`;
5. refused when it raises the portfolio's one-day VaR (the larger of historical and parametric at 95%)
   above `var_limit_fraction` of capital, or opens a position in an asset whose returns correlate more than
   `max_correlation` with one already held.
An order that only reduces exposure passes steps 3–5. Notionals are in quote currency, signed (buy > 0).
Limits per mode follow DESIGN.md's table (`PreTradeLimits.for_mode`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from traider.risk.var import historical_var, max_abs_correlation, parametric_var

Mode = Literal["backtest", "paper", "live_small", "live_institutional"]
NANOSECONDS = 1_000_000_000


@dataclass(frozen=True)
class PreTradeLimits:
    """Limits on orders; None switches a limit off."""

    max_position_usd: float | None = None
    max_position_fraction: float | None = None
    max_total_usd: float | None = None
    daily_loss_usd: float | None = None
    daily_loss_fraction: float | None = None
    var_limit_fraction: float | None = None
    var_confidence: float = 0.95
    max_correlation: float | None = None
    max_orders_per_minute: int | None = None
    stale_after_s: float | None = 5.0

    @classmethod
    def for_mode(cls, mode: Mode) -> PreTradeLimits:
        """Return the limits of a mode: DESIGN.md's table plus correlation, order-rate and staleness limits."""
        if mode == "backtest":
            return cls(stale_after_s=None)
        guards = cls(max_correlation=0.95, max_orders_per_minute=60, stale_after_s=5.0)
        if mode == "paper":
            return replace(guards, max_position_usd=2_000.0, daily_loss_usd=400.0)
        if mode == "live_small":
            return replace(guards, max_position_fraction=0.20, daily_loss_fraction=0.02, var_limit_fraction=0.01)
        return replace(guards, max_position_fraction=0.10, daily_loss_fraction=0.001, var_limit_fraction=0.001)


@dataclass(frozen=True)
class PortfolioState:
    """What the check needs to know of the book: capital, today's P&L and the signed positions' values."""

    capital: float
    day_pnl: float
    positions: Mapping[str, float]


@dataclass(frozen=True)
class RiskCheck:
    """The outcome: the notional allowed (0 when refused) and why it differs from the one asked for."""

    requested: float
    allowed: float
    reasons: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        """Return whether nothing of the order may go out."""
        return self.allowed == 0.0 and self.requested != 0.0


ReturnsLookup = Callable[[Sequence[str]], np.ndarray]
"""Daily returns (days × assets) of the given symbols, for VaR and correlation."""


@dataclass
class PreTradeRisk:
    """Stateful pre-trade checks (the order-rate window is the state)."""

    limits: PreTradeLimits = field(default_factory=PreTradeLimits)
    returns: ReturnsLookup | None = None
    _sent: deque[int] = field(default_factory=deque)

    def check(
        self,
        symbol: str,
        notional: float,
        state: PortfolioState,
        *,
        now: int,
        last_tick: int | None,
        halted: bool = False,
    ) -> RiskCheck:
        """Return how much of an order of `notional` (signed) on `symbol` may go out at time `now` (ns)."""
        limits = self.limits
        current = state.positions.get(symbol, 0.0)
        after = current + notional
        reducing = abs(after) <= abs(current) and after * current >= 0.0
        stale = self.stale(now, last_tick)
        if stale is not None:
            return RiskCheck(notional, 0.0, (stale,))
        if not reducing:
            blocked = self._loss_or_halt(state, halted)
            if blocked:
                return RiskCheck(notional, 0.0, (blocked,))
        if limits.max_orders_per_minute is not None:
            while self._sent and self._sent[0] <= now - 60 * NANOSECONDS:
                self._sent.popleft()
            if not reducing and len(self._sent) >= limits.max_orders_per_minute:
                return RiskCheck(notional, 0.0, (f"order rate limit {limits.max_orders_per_minute}/min reached",))
        if reducing:
            self._sent.append(now)
            return RiskCheck(notional, notional)
        allowed, reasons = self._cap_position(symbol, notional, current, state)
        if allowed != 0.0:
            refusal = self._portfolio_limits(symbol, current + allowed, state)
            if refusal:
                return RiskCheck(notional, 0.0, (*reasons, refusal))
            self._sent.append(now)
        return RiskCheck(notional, allowed, tuple(reasons))

    def stale(self, now: int, last_tick: int | None) -> str | None:
        """Return why the market data is too old to trade on at `now` (ns), or None when it is fresh enough."""
        limit = self.limits.stale_after_s
        if limit is None or (last_tick is not None and now - last_tick <= limit * NANOSECONDS):
            return None
        age = "no tick yet" if last_tick is None else f"last tick {(now - last_tick) / NANOSECONDS:.1f} s old"
        return f"stale market data ({age}): no orders"

    def _loss_or_halt(self, state: PortfolioState, halted: bool) -> str | None:
        limits = self.limits
        if halted:
            return "kill switch on: exposure may only shrink"
        loss_limit = [value for value in (limits.daily_loss_usd,
                      None if limits.daily_loss_fraction is None else limits.daily_loss_fraction * state.capital)
                      if value is not None]  # fmt: skip
        if loss_limit and -state.day_pnl >= min(loss_limit):
            return (
                f"daily loss {-state.day_pnl:,.2f} reached the limit {min(loss_limit):,.2f}: exposure may only shrink"
            )
        return None

    def _cap_position(
        self, symbol: str, notional: float, current: float, state: PortfolioState
    ) -> tuple[float, list[str]]:
        limits = self.limits
        caps = [value for value in (limits.max_position_usd,
                None if limits.max_position_fraction is None else limits.max_position_fraction * state.capital)
                if value is not None]  # fmt: skip
        reasons: list[str] = []
        after = current + notional
        if caps and abs(after) > min(caps):
            bound = min(caps) if after > 0 else -min(caps)
            reasons.append(f"{symbol}: position {after:,.2f} capped at {bound:,.2f}")
            after = bound
        if limits.max_total_usd is not None:
            others = sum(abs(value) for name, value in state.positions.items() if name != symbol)
            room = max(0.0, limits.max_total_usd - others)
            if abs(after) > room:
                reasons.append(f"gross exposure capped at {limits.max_total_usd:,.2f}")
                after = room if after > 0 else -room
        allowed = after - current
        if allowed * notional < 0.0:  # the caps would need a trade the other way: send nothing
            allowed = 0.0
        return allowed, reasons

    def _portfolio_limits(self, symbol: str, after: float, state: PortfolioState) -> str | None:
        limits = self.limits
        positions = {**state.positions, symbol: after}
        names = sorted(name for name, value in positions.items() if value != 0.0)
        opening = state.positions.get(symbol, 0.0) == 0.0
        check_var = limits.var_limit_fraction is not None and bool(names)
        check_correlation = limits.max_correlation is not None and opening and len(names) > 1
        if self.returns is None or not (check_var or check_correlation):
            return None
        history = np.asarray(self.returns(names), dtype=np.float64)
        values = np.asarray([positions[name] for name in names], dtype=np.float64)
        if limits.var_limit_fraction is not None and check_var:
            if history.shape[0] < 2:
                return f"one-day VaR unknown ({history.shape[0]} days of returns, need 2 or more): no new exposure"
            var = max(historical_var(values, history, limits.var_confidence),
                      parametric_var(values, history, limits.var_confidence))  # fmt: skip
            limit = limits.var_limit_fraction * state.capital
            if var > limit:
                return f"one-day VaR {var:,.2f} would exceed the limit {limit:,.2f}"
        if limits.max_correlation is not None and check_correlation:
            correlation = max_abs_correlation(history, np.ones(len(names), dtype=bool))
            if correlation > limits.max_correlation:
                return f"{symbol}: correlation {correlation:.2f} with a held asset exceeds {limits.max_correlation:.2f}"
        return None
