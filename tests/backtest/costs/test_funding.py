"""Funding payments: long/short with positive/negative rates, and a position timeline (vectorised)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.backtest.costs.funding import funding_payment, funding_payments

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOURS_8 = timedelta(hours=8)


@pytest.mark.parametrize(
    ("position", "rate", "expected"),
    [
        (2.0, 0.0001, -6.0),  # long pays positive funding: −2 × 30,000 × 0.0001 = −6
        (2.0, -0.0001, 6.0),  # long receives negative funding
        (-2.0, 0.0001, 6.0),  # short receives positive funding
        (-2.0, -0.0001, -6.0),  # short pays negative funding
        (0.0, 0.0001, 0.0),  # flat: nothing
    ],
)
def test_funding_payment_sign_by_side_and_rate(position: float, rate: float, expected: float) -> None:
    assert funding_payment(position, 30_000.0, rate) == pytest.approx(expected)


def test_funding_payments_position_timeline_hand_computed() -> None:
    # funding at T0, T0+8h, T0+16h, T0+24h with rates 1, 1, −2, 3 bp and marks 100, 110, 120, 130
    # position: flat until T0+1h, long 5 from T0+1h, short 2 from T0+16h (exactly at a funding time)
    # T0:     flat                     ->  0
    # T0+8h:  long 5:  −5 × 110 × 0.0001 = −0.055
    # T0+16h: change at the same instant takes effect after: still long 5: −5 × 120 × −0.0002 = +0.12
    # T0+24h: short 2: 2 × 130 × 0.0003 = +0.078
    positions = pd.Series([5.0, -2.0], index=pd.DatetimeIndex([T0 + timedelta(hours=1), T0 + 2 * HOURS_8]))
    funding = pd.DataFrame(
        {
            "ts": [T0 + i * HOURS_8 for i in range(4)],
            "rate": [0.0001, 0.0001, -0.0002, 0.0003],
            "mark_price": [100.0, 110.0, 120.0, 130.0],
        }
    )
    payments = funding_payments(positions, funding)
    assert list(payments.index) == list(pd.DatetimeIndex(funding["ts"]))
    assert payments.tolist() == pytest.approx([0.0, -0.055, 0.12, 0.078])
    assert payments.sum() == pytest.approx(0.143)


def test_funding_payments_unsorted_funding_rows_are_sorted_by_time() -> None:
    positions = pd.Series([1.0], index=pd.DatetimeIndex([T0 - HOURS_8]))
    funding = pd.DataFrame({"ts": [T0 + HOURS_8, T0], "rate": [0.001, 0.002], "mark_price": [10.0, 10.0]})
    # T0: −1 × 10 × 0.002 = −0.02; T0+8h: −1 × 10 × 0.001 = −0.01
    assert funding_payments(positions, funding).tolist() == pytest.approx([-0.02, -0.01])


def test_funding_payments_empty_positions_pay_nothing() -> None:
    funding = pd.DataFrame({"ts": [T0], "rate": [0.001], "mark_price": [10.0]})
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype=float)
    assert funding_payments(empty, funding).tolist() == [0.0]


def test_funding_payments_missing_mark_price_raises_value_error() -> None:
    positions = pd.Series([1.0], index=pd.DatetimeIndex([T0]))
    funding = pd.DataFrame({"ts": [T0 + HOURS_8], "rate": [0.001], "mark_price": [None]})
    with pytest.raises(ValueError, match="has no mark price"):
        funding_payments(positions, funding)


def test_funding_payments_missing_column_raises_value_error() -> None:
    positions = pd.Series([1.0], index=pd.DatetimeIndex([T0]))
    with pytest.raises(ValueError, match="lacks column"):
        funding_payments(positions, pd.DataFrame({"ts": [T0], "rate": [0.001]}))


@given(
    st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=10),
    st.lists(st.tuples(st.floats(-0.01, 0.01), st.floats(1.0, 1e5)), min_size=1, max_size=10),
)
def test_funding_payments_vectorised_equals_scalar_per_funding_time(
    quantities: list[float], funding_rows: list[tuple[float, float]]
) -> None:
    # positions change every 5 h from T0 − 1 h; funding every 8 h from T0
    change_times = [T0 - timedelta(hours=1) + i * timedelta(hours=5) for i in range(len(quantities))]
    funding_times = [T0 + i * HOURS_8 for i in range(len(funding_rows))]
    funding = pd.DataFrame(
        {"ts": funding_times, "rate": [r for r, _ in funding_rows], "mark_price": [m for _, m in funding_rows]}
    )
    payments = funding_payments(pd.Series(quantities, index=pd.DatetimeIndex(change_times)), funding)
    for when, (rate, mark), payment in zip(funding_times, funding_rows, payments.tolist(), strict=True):
        held = [qty for at, qty in zip(change_times, quantities, strict=True) if at < when]
        expected = funding_payment(held[-1] if held else 0.0, mark, rate)
        assert payment == pytest.approx(expected, abs=1e-12)
