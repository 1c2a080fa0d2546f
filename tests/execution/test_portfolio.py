from __future__ import annotations

import pytest

from traider.backtest.costs.fills import Side
from traider.execution.orders import Fill
from traider.execution.portfolio import Portfolio


def _fill(side: Side, quantity: float, price: float, fee: float = 0.0, slippage: float = 0.0) -> Fill:
    return Fill("o-1", "o-1-1", "BTC/USD", side, quantity, price, fee, slippage, "taker", 0)


def test_fills_move_cash_and_position_and_account_their_costs() -> None:
    book = Portfolio(cash=1_000.0)
    book.apply_fill(_fill(Side.BUY, 2.0, 100.0, fee=0.2, slippage=0.1))
    assert book.cash == pytest.approx(799.8)
    assert book.position("BTC/USD") == 2.0
    book.apply_fill(_fill(Side.SELL, 3.0, 110.0, fee=0.33))
    assert book.position("BTC/USD") == -1.0
    assert book.cash == pytest.approx(799.8 + 330.0 - 0.33)
    assert book.fees_paid == pytest.approx(0.53)
    assert book.slippage_paid == pytest.approx(0.1)
    assert book.equity({"BTC/USD": 120.0}) == pytest.approx(799.8 + 330.0 - 0.33 - 120.0)


def test_long_pays_positive_funding_and_short_receives_it() -> None:
    book = Portfolio(cash=1_000.0, positions={"BTC/USD:USD": 2.0})
    assert book.apply_funding("BTC/USD:USD", 100.0, 0.001) == pytest.approx(-0.2)
    book.positions["BTC/USD:USD"] = -2.0
    assert book.apply_funding("BTC/USD:USD", 100.0, 0.001) == pytest.approx(0.2)
    assert book.funding_received == pytest.approx(0.0)
    assert book.cash == pytest.approx(1_000.0)


def test_equity_needs_a_mark_for_every_held_symbol() -> None:
    with pytest.raises(KeyError):
        Portfolio(cash=1.0, positions={"ETH/USD": 1.0}).equity({})


def test_a_portfolio_cannot_start_without_cash() -> None:
    with pytest.raises(ValueError, match="positive cash"):
        Portfolio(cash=0.0)
