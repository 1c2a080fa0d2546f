"""Latency: the fill uses the market at decision time + latency, through an as-of lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from traider.backtest.costs.latency import LatencyModel, asof_lookup

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMES = [T0, T0 + timedelta(milliseconds=100), T0 + timedelta(milliseconds=250)]
PRICES = [100.0, 101.0, 102.0]


def test_latency_model_zero_latency_uses_decision_time_price() -> None:
    assert LatencyModel().at_fill(T0 + timedelta(milliseconds=120), asof_lookup(TIMES, PRICES)) == 101.0


def test_latency_model_latency_uses_price_at_fill_time() -> None:
    # decided at 120 ms, 150 ms latency -> fills at 270 ms: last price at or before is 102 (stamped 250 ms)
    model = LatencyModel(timedelta(milliseconds=150))
    assert model.fill_time(T0 + timedelta(milliseconds=120)) == T0 + timedelta(milliseconds=270)
    assert model.at_fill(T0 + timedelta(milliseconds=120), asof_lookup(TIMES, PRICES)) == 102.0


def test_asof_lookup_exact_stamp_returns_that_value() -> None:
    assert asof_lookup(TIMES, PRICES)(TIMES[1]) == 101.0


def test_asof_lookup_before_first_stamp_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="no value at or before"):
        asof_lookup(TIMES, PRICES)(T0 - timedelta(seconds=1))


def test_asof_lookup_unsorted_times_raise_value_error() -> None:
    with pytest.raises(ValueError, match="ascending"):
        asof_lookup(list(reversed(TIMES)), PRICES)


def test_asof_lookup_length_mismatch_raises_value_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        asof_lookup(TIMES, PRICES[:2])


def test_latency_model_negative_latency_raises_value_error() -> None:
    with pytest.raises(ValueError, match="latency must be >= 0"):
        LatencyModel(timedelta(milliseconds=-1))
