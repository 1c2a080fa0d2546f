"""Risk limits and the pre-trade check shared by the backtester and the worker."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RiskLimits:
    """Limits on what a strategy may ask for; `max_exposure` bounds |target| per symbol (fraction of equity)."""

    max_exposure: float = 1.0
    allow_short: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_exposure <= 1.0:
            raise ValueError(f"max_exposure must be in [0, 1], not {self.max_exposure}")


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The target the risk engine lets through, and why it differs from the one asked for (if it does)."""

    requested: float
    approved: float
    reasons: tuple[str, ...] = ()


@dataclass
class RiskEngine:
    """Vets each target before it becomes an order; with the kill switch on, it only allows flattening."""

    limits: RiskLimits = field(default_factory=RiskLimits)
    halted: bool = False
    breaches: int = 0

    def vet(self, symbol: str, target: float, current: float) -> RiskDecision:
        """Return the approved target for `symbol` given the one requested and the current exposure."""
        reasons: list[str] = []
        approved = target
        if self.halted and not (target * current >= 0.0 and abs(target) <= abs(current)):
            reasons.append("kill switch on: exposure may only shrink")
            approved = 0.0 if target * current < 0.0 else current
        if approved < 0.0 and not self.limits.allow_short:
            reasons.append(f"{symbol}: shorting is not allowed")
            approved = 0.0
        if abs(approved) > self.limits.max_exposure:
            reasons.append(f"{symbol}: |{approved:g}| exceeds max exposure {self.limits.max_exposure:g}")
            approved = self.limits.max_exposure if approved > 0 else -self.limits.max_exposure
        if reasons:
            self.breaches += 1
        return RiskDecision(target, approved, tuple(reasons))
