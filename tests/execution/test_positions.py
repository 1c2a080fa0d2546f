from __future__ import annotations

import pytest

from traider.execution.positions import PositionState


def test_adding_averages_the_entry_price() -> None:
    state = PositionState().after_fill(2.0, 100.0).after_fill(1.0, 130.0)
    assert (state.quantity, state.average_entry_price, state.realised_pnl) == (3.0, pytest.approx(110.0), 0.0)


def test_reducing_realises_pnl_at_the_average_entry() -> None:
    state = PositionState(3.0, 110.0).after_fill(-1.0, 120.0)
    assert (state.quantity, state.average_entry_price, state.realised_pnl) == (2.0, 110.0, pytest.approx(10.0))


def test_a_short_closed_lower_realises_a_gain() -> None:
    state = PositionState(-2.0, 50.0).after_fill(2.0, 45.0)
    assert (state.quantity, state.average_entry_price, state.realised_pnl) == (0.0, None, pytest.approx(10.0))


def test_crossing_zero_opens_the_rest_at_the_fill_price() -> None:
    state = PositionState(1.0, 100.0).after_fill(-3.0, 90.0)
    assert (state.quantity, state.average_entry_price, state.realised_pnl) == (-2.0, 90.0, pytest.approx(-10.0))
