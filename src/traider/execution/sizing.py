"""From a target exposure to an order quantity: the one sizing rule of every engine.

A target is a fraction of equity in [-1, 1]. The trade `delta` (base units) leaves the position's value at
the fill price equal to `target ×` the equity left after the fee:

    (held + delta) × fill = target × (cash + held × fill − |delta| × fill × fee_rate)

solved for `delta`, with the fill price taken on the side of the fee-free trade (a buy pays
`mark × (1 + slip)`, a sell receives `mark × (1 − slip)`). Going all in from cash therefore buys
`cash / (fill × (1 + fee_rate))` units, as vectorbt's `Portfolio.from_signals` does.

The function is plain float arithmetic so that numba compiles the very same code for the vectorised
engine (`traider.backtest.vectorised`) while the event engine and the worker call it from Python.
"""

from __future__ import annotations


def rebalance_quantity(
    target: float, cash: float, held: float, mark: float, slip: float, fee_rate: float
) -> tuple[float, float]:
    """Return (units to trade, fill price) that move `held` units to `target` of equity; (0, mark) when none."""
    fee_free = target * cash / mark + (target - 1.0) * held
    if fee_free == 0.0:
        return 0.0, mark
    fill = mark * (1.0 + slip) if fee_free > 0 else mark * (1.0 - slip)
    base = target * (cash / fill + held) - held
    delta = base / (1.0 + target * fee_rate) if base > 0 else base / (1.0 - target * fee_rate)
    return delta, fill
