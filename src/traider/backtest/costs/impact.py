"""Market impact on top of the book walk: a price move that grows with the order's participation.

participation = quantity / reference_volume (e.g. the volume traded over the order's horizon); the
impact is a fraction of price: `coefficient × participation` (linear) or `coefficient × √participation`
(square root, where the coefficient plays the part of Y·σ in the square-root law). Off by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from traider.backtest.costs.fills import Side


class ImpactKind(StrEnum):
    """The shape of the impact curve."""

    NONE = "none"
    LINEAR = "linear"
    SQUARE_ROOT = "square_root"


@dataclass(frozen=True, slots=True)
class ImpactModel:
    """Configurable impact: `kind` and `coefficient` (fraction of price at participation 1)."""

    kind: ImpactKind = ImpactKind.NONE
    coefficient: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ImpactKind(self.kind))
        if not self.coefficient >= 0:
            raise ValueError(f"impact coefficient must be >= 0, not {self.coefficient}")

    def fraction(self, quantity: float, reference_volume: float | None) -> float:
        """Return the impact as a fraction of price for `quantity` against `reference_volume`."""
        if self.kind is ImpactKind.NONE or self.coefficient == 0 or quantity == 0:
            return 0.0
        if reference_volume is None or not reference_volume > 0:
            raise ValueError(f"{self.kind.value} impact needs a reference volume > 0, not {reference_volume}")
        participation = abs(quantity) / reference_volume
        if self.kind is ImpactKind.LINEAR:
            return self.coefficient * participation
        return self.coefficient * math.sqrt(participation)

    def apply(self, price: float, side: Side | str, quantity: float, reference_volume: float | None) -> float:
        """Return `price` moved against the order: up for a buy, down for a sell."""
        return price * (1.0 + Side(side).sign * self.fraction(quantity, reference_volume))
