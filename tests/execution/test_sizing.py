from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.execution.sizing import rebalance_quantity


def test_all_in_from_cash_buys_cash_over_fee_inclusive_price() -> None:
    delta, fill = rebalance_quantity(1.0, 10_000.0, 0.0, 100.0, 0.0, 0.001)
    assert fill == 100.0
    assert delta == pytest.approx(10_000.0 / (100.0 * 1.001), rel=1e-15)


def test_going_flat_sells_everything_held_at_the_slipped_price() -> None:
    delta, fill = rebalance_quantity(0.0, 0.0, 5.0, 100.0, 0.001, 0.001)
    assert delta == -5.0
    assert fill == pytest.approx(99.9)


def test_unchanged_target_trades_nothing() -> None:
    assert rebalance_quantity(0.0, 1_000.0, 0.0, 100.0, 0.0, 0.001) == (0.0, 100.0)


@given(
    target=st.floats(-1.0, 1.0),
    cash=st.floats(1.0, 1e7),
    held=st.floats(-100.0, 100.0),
    mark=st.floats(1.0, 1e5),
    slip=st.floats(0.0, 0.01),
    fee=st.floats(0.0, 0.01),
)
def test_after_the_trade_the_position_is_the_target_share_of_post_fee_equity(
    target: float, cash: float, held: float, mark: float, slip: float, fee: float
) -> None:
    delta, fill = rebalance_quantity(target, cash, held, mark, slip, fee)
    cash_after = cash - delta * fill - abs(delta) * fill * fee
    equity_after = cash_after + (held + delta) * fill
    assert (held + delta) * fill == pytest.approx(target * equity_after, rel=1e-9, abs=1e-6 * (cash + abs(held) * mark))
