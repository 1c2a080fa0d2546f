"""Orders and fills as the engines, the brokers and the ledger exchange them."""

from __future__ import annotations

from dataclasses import dataclass

from traider.backtest.costs.fills import Side


@dataclass(frozen=True, slots=True)
class Order:
    """A market order for `quantity` base units (> 0) of `symbol`, decided at `decided_at` (ns, UTC)."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    decided_at: int
    target: float  # the target exposure it moves towards, for the record


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution of (part of) an order; `slippage` is its cost in quote against the reference price."""

    client_order_id: str
    fill_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    slippage: float
    liquidity: str
    ts: int

    @property
    def signed_quantity(self) -> float:
        """Return the quantity with the side's sign (+ buy, − sell)."""
        return self.quantity if self.side is Side.BUY else -self.quantity
