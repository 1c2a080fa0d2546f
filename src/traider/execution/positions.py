"""Average-price position accounting: the one rule for a position's entry price and realised P&L."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PositionState:
    """A signed quantity, its average entry price (None when flat) and the P&L realised so far."""

    quantity: float = 0.0
    average_entry_price: float | None = None
    realised_pnl: float = 0.0

    def after_fill(self, signed_quantity: float, price: float) -> PositionState:
        """Return the state after a fill of `signed_quantity` (buy > 0) at `price` (fees are booked apart).

        Adding in the position's direction averages the entry price; trading against it realises
        (price − entry) × closed quantity × direction; a fill that crosses zero opens the rest at `price`.
        """
        held, entry = self.quantity, self.average_entry_price
        if held == 0.0 or entry is None:
            return PositionState(signed_quantity, price if signed_quantity else None, self.realised_pnl)
        if held * signed_quantity > 0.0:
            total = held + signed_quantity
            average = (abs(held) * entry + abs(signed_quantity) * price) / abs(total)
            return PositionState(total, average, self.realised_pnl)
        closed = min(abs(signed_quantity), abs(held))
        direction = 1.0 if held > 0 else -1.0
        realised = self.realised_pnl + closed * (price - entry) * direction
        remaining = held + signed_quantity
        if remaining == 0.0:
            return PositionState(0.0, None, realised)
        if remaining * held > 0.0:
            return PositionState(remaining, entry, realised)
        return PositionState(remaining, price, realised)
