"""The ledger: cash, positions, and the fees, slippage and funding they cost, changed only by fills and funding."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from traider.backtest.costs.funding import funding_payment
from traider.execution.orders import Fill


@dataclass
class Portfolio:
    """Cash in quote currency and signed positions in base units; equity is cash + Σ position × mark."""

    cash: float
    positions: dict[str, float] = field(default_factory=dict)
    fees_paid: float = 0.0
    slippage_paid: float = 0.0
    funding_received: float = 0.0

    def __post_init__(self) -> None:
        if not self.cash > 0:
            raise ValueError(f"a portfolio starts with positive cash, not {self.cash}")

    def position(self, symbol: str) -> float:
        """Return the signed units held of `symbol` (0 when none)."""
        return self.positions.get(symbol, 0.0)

    def apply_fill(self, fill: Fill) -> None:
        """Book a fill: the position moves by its signed quantity, cash pays the notional and the fee."""
        signed = fill.signed_quantity
        self.cash -= signed * fill.price + fill.fee
        self.positions[fill.symbol] = self.positions.get(fill.symbol, 0.0) + signed
        self.fees_paid += fill.fee
        self.slippage_paid += fill.slippage

    def apply_funding(self, symbol: str, mark_price: float, rate: float) -> float:
        """Pay or receive funding on the position held now; return the payment (negative when paid)."""
        payment = funding_payment(self.position(symbol), mark_price, rate)
        self.cash += payment
        self.funding_received += payment
        return payment

    def equity(self, marks: Mapping[str, float]) -> float:
        """Return cash plus every position valued at its mark (a held symbol without a mark is an error)."""
        total = self.cash
        for symbol, units in self.positions.items():
            if units != 0.0:
                total += units * marks[symbol]
        return total
