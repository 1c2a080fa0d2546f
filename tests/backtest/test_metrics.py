"""Hand-computed cases, properties and degenerate inputs of the backtest statistics."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traider.backtest.metrics import (
    SECONDS_PER_YEAR,
    PerformanceReport,
    drawdown_durations,
    equity_from_returns,
    infer_periods_per_year,
    performance_report,
    performance_report_from_returns,
    position_statistics,
    trade_statistics,
)


def _daily(values: list[float], start: str = "2024-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D", tz="UTC"), dtype=float)


def _hourly(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), freq="h", tz="UTC"), dtype=float)


# Equity [100, 110, 99, 120] on daily bars, with periods_per_year = 3 so that the 3 returns make one year.
# returns: 110/100 - 1 = 0.1; 99/110 - 1 = -0.1; 120/99 - 1 = 21/99 = 0.212121...
# mean = (0.1 - 0.1 + 21/99) / 3 = 7/99 = 0.0707070...
# deviations from the mean, in 1/99: 9.9 - 7 = 2.9; -9.9 - 7 = -16.9; 21 - 7 = 14
# sample variance = (2.9² + 16.9² + 14²) / 99² / 2 = (8.41 + 285.61 + 196) / 2 / 9801 = 245.01 / 9801
# std = sqrt(245.01) / 99 = 15.652795 / 99 = 0.1581090
EXAMPLE_STD = math.sqrt(245.01) / 99


@pytest.fixture
def example() -> PerformanceReport:
    equity = _daily([100, 110, 99, 120])
    positions = pd.Series([0.0, 50.0, 50.0, 0.0], index=equity.index)
    return performance_report(
        equity,
        periods_per_year=3,
        trade_pnls=[10.0, -11.0, 21.0],
        positions=positions,
        fees_paid=1.5,
        slippage_paid=0.25,
    )


def test_performance_report_example_returns_match_hand_computation(example: PerformanceReport) -> None:
    assert example.periods == 3
    assert example.total_return == pytest.approx(0.2)  # 120 / 100 - 1
    assert example.annualised_return == pytest.approx(0.2)  # (1 + 0.2)^(3 / 3) - 1
    assert example.annualised_volatility == pytest.approx(EXAMPLE_STD * math.sqrt(3))  # 0.158109 x 1.732 = 0.273853
    assert example.annualised_volatility == pytest.approx(0.273853, abs=1e-6)


def test_performance_report_example_ratios_match_hand_computation(example: PerformanceReport) -> None:
    # Sharpe = (7/99) / 0.1581090 x sqrt(3) = 7 / 15.652795 x sqrt(3) = 0.4472044 x 1.7320508 = 0.774581
    assert example.sharpe_ratio == pytest.approx(0.774581, abs=1e-6)
    # downside deviation = sqrt(((-0.1)² + 0 + 0) / 3) = 0.1 / sqrt(3); Sortino = (7/99) / (0.1 / sqrt(3)) x sqrt(3)
    # = (7/99) x 3 / 0.1 = 70/33 = 2.121212
    assert example.sortino_ratio == pytest.approx(70 / 33)
    # Calmar = 0.2 / 0.1 = 2
    assert example.calmar_ratio == pytest.approx(2.0)


def test_performance_report_example_drawdown_matches_hand_computation(example: PerformanceReport) -> None:
    # peak 110 on Jan 2, trough 99 on Jan 3: 1 - 99/110 = 0.1; back above 110 on Jan 4: 2 days.
    assert example.max_drawdown == pytest.approx(0.1)
    assert example.max_drawdown_duration == timedelta(days=2)
    assert example.longest_drawdown_duration == timedelta(days=2)


def test_performance_report_example_trades_positions_and_costs_match_hand_computation(
    example: PerformanceReport,
) -> None:
    assert example.trade_count == 3
    assert example.win_rate == pytest.approx(2 / 3)  # 10 and 21 win, -11 loses
    assert example.profit_factor == pytest.approx(31 / 11)  # (10 + 21) / 11 = 2.818181...
    # |Δposition| = 0, 50, 0, 50 -> 100; mean equity = 429 / 4 = 107.25; 3 periods / 3 per year = 1 year
    assert example.turnover == pytest.approx(100 / 107.25)  # 0.932401
    assert example.exposure_time == pytest.approx(0.5)  # 2 of 4 timestamps hold a position
    assert example.average_gross_exposure == pytest.approx((50 / 110 + 50 / 99) / 4)  # 0.239899
    assert (example.fees_paid, example.slippage_paid) == (1.5, 0.25)


def test_performance_report_risk_free_rate_lowers_sharpe_by_hand_computation() -> None:
    report = performance_report(_daily([100, 110, 99, 120]), periods_per_year=3, risk_free_rate=0.03)
    # rf per period = 0.03 / 3 = 0.01; (0.0707071 - 0.01) / 0.1581090 x sqrt(3) = 0.383957 x 1.732051 = 0.665033
    assert report.sharpe_ratio == pytest.approx(0.665033, abs=1e-6)


def test_performance_report_inferred_daily_frequency_annualises_over_365_days() -> None:
    report = performance_report(_daily([100, 110, 99, 120]))
    assert report.periods_per_year == 365
    # (1.2)^(365 / 3) - 1 and 0.4472044 x sqrt(365) = 8.543829
    assert report.annualised_return == pytest.approx(1.2 ** (365 / 3) - 1)
    assert report.sharpe_ratio == pytest.approx(8.543829, abs=1e-6)


@pytest.mark.parametrize(("frequency", "expected"), [("1D", 365.0), ("1h", 8760.0), ("5min", 105_120.0)])
def test_infer_periods_per_year_regular_bars_use_365_by_24_hours(frequency: str, expected: float) -> None:
    index = pd.date_range("2024-01-01", periods=10, freq=frequency, tz="UTC")
    assert infer_periods_per_year(index) == pytest.approx(expected)
    assert expected == SECONDS_PER_YEAR / pd.Timedelta(frequency).total_seconds()  # 31,536,000 s / bar


def test_infer_periods_per_year_missing_bar_uses_median_spacing() -> None:
    index = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 05:00"], tz="UTC")
    assert infer_periods_per_year(index) == pytest.approx(8760.0)


def test_drawdown_durations_two_episodes_tell_max_from_longest() -> None:
    # Episode 1: peak 100 at 0h, shallow (max 5 %), recovered at 6h -> 6 h.
    # Episode 2: peak 100 at 6h, 1 - 80/100 = 20 % (the max drawdown), recovered at 8h -> 2 h.
    equity = _hourly([100, 95, 96, 97, 98, 99, 100, 80, 100])
    assert drawdown_durations(equity) == (timedelta(hours=2), timedelta(hours=6))


def test_drawdown_durations_unrecovered_drawdown_lasts_to_the_end() -> None:
    # Peak 100 at 2h, never recovered: 5h - 2h = 3 h.
    equity = _hourly([90, 95, 100, 95, 80, 85])
    report = performance_report(equity)
    assert report.max_drawdown == pytest.approx(0.2)
    assert report.max_drawdown_duration == timedelta(hours=3)


def test_trade_statistics_no_losing_trades_gives_infinite_profit_factor() -> None:
    assert trade_statistics([5.0, 3.0]) == (2, 1.0, math.inf)


def test_trade_statistics_only_losses_gives_zero_profit_factor() -> None:
    assert trade_statistics([-5.0, -3.0]) == (2, 0.0, 0.0)


def test_trade_statistics_breakeven_trades_are_not_wins_and_profit_factor_nan() -> None:
    count, win_rate, profit_factor = trade_statistics([0.0, 0.0])
    assert (count, win_rate) == (2, 0.0)
    assert math.isnan(profit_factor)


def test_trade_statistics_no_trades_gives_nan() -> None:
    count, win_rate, profit_factor = trade_statistics([])
    assert count == 0
    assert math.isnan(win_rate) and math.isnan(profit_factor)


def test_position_statistics_short_positions_count_by_absolute_value() -> None:
    equity = _daily([100, 100, 100])
    positions = pd.Series([-100.0, 100.0, 0.0], index=equity.index)
    # |Δ| = 100 + 200 + 100 = 400; mean equity 100; 2 periods / 2 per year = 1 year -> 4.0
    assert position_statistics(positions, equity, periods_per_year=2) == pytest.approx((4.0, 2 / 3, 2 / 3))


def test_performance_report_from_returns_matches_equity_curve() -> None:
    returns = _daily([0.1, -0.1, 21 / 99], start="2024-01-02")
    equity = equity_from_returns(returns, initial_equity=100.0)
    assert equity.to_numpy() == pytest.approx([100, 110, 99, 120])
    assert equity.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    from_returns = performance_report_from_returns(returns, periods_per_year=3).to_dict()
    from_equity = performance_report(_daily([100, 110, 99, 120]), periods_per_year=3).to_dict()
    assert from_returns.keys() == from_equity.keys()
    for key, value in from_equity.items():
        assert from_returns[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_equity_from_returns_single_return_needs_periods_per_year() -> None:
    returns = _daily([0.5], start="2024-01-02")
    with pytest.raises(ValueError, match="periods_per_year"):
        equity_from_returns(returns)
    equity = equity_from_returns(returns, periods_per_year=365)
    assert equity.index[0] == pd.Timestamp("2024-01-01", tz="UTC")  # one year / 365 = one day earlier
    assert equity.to_numpy() == pytest.approx([1.0, 1.5])


def test_performance_report_empty_equity_gives_nan_without_error() -> None:
    report = performance_report(pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype=float))
    assert report.periods == 0 and report.start is None
    assert math.isnan(report.total_return) and math.isnan(report.max_drawdown) and math.isnan(report.sharpe_ratio)
    assert report.max_drawdown_duration == timedelta(0)


def test_performance_report_single_point_gives_zero_return_and_nan_ratios() -> None:
    report = performance_report(_daily([100]))
    assert (report.total_return, report.max_drawdown, report.periods) == (0.0, 0.0, 0)
    assert math.isnan(report.annualised_return) and math.isnan(report.sharpe_ratio) and math.isnan(report.turnover)


def test_performance_report_constant_equity_gives_nan_sharpe_and_zero_drawdown() -> None:
    report = performance_report(_daily([100, 100, 100, 100]))
    assert (report.total_return, report.annualised_return, report.annualised_volatility) == (0.0, 0.0, 0.0)
    assert report.max_drawdown == 0.0
    assert math.isnan(report.sharpe_ratio) and math.isnan(report.sortino_ratio) and math.isnan(report.calmar_ratio)


def test_performance_report_rising_equity_gives_infinite_sortino_and_calmar() -> None:
    report = performance_report(_daily([100, 110, 130, 150]))
    assert report.max_drawdown == 0.0
    assert report.sortino_ratio == math.inf and report.calmar_ratio == math.inf
    assert report.longest_drawdown_duration == timedelta(0)


def test_performance_report_to_dict_is_strict_json_with_none_for_non_finite(example: PerformanceReport) -> None:
    rising = performance_report(_daily([100, 110, 130]), trade_pnls=[1.0]).to_dict()
    assert rising["profit_factor"] is None and rising["turnover"] is None
    json.dumps(rising, allow_nan=False)
    exported = example.to_dict()
    assert exported["max_drawdown_duration_seconds"] == 172_800.0
    assert exported["start"] == "2024-01-01T00:00:00+00:00"
    assert json.loads(json.dumps(exported, allow_nan=False)) == exported


@pytest.mark.parametrize(
    ("equity", "message"),
    [
        (_daily([100, -1, 100]), "positive"),
        (_daily([100, math.nan, 100]), "finite"),
        (pd.Series([100.0, 101.0]), "DatetimeIndex"),
        (_daily([100, 101]).iloc[::-1], "increasing"),
    ],
)
def test_performance_report_invalid_equity_raises_value_error(equity: pd.Series, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        performance_report(equity)


def test_performance_report_misaligned_positions_raise_value_error() -> None:
    equity = _daily([100, 101, 102])
    with pytest.raises(ValueError, match="same timestamps"):
        performance_report(equity, positions=pd.Series([0.0, 1.0], index=equity.index[:2]))


def test_performance_report_non_positive_periods_per_year_raises_value_error() -> None:
    with pytest.raises(ValueError, match="periods_per_year"):
        performance_report(_daily([100, 101]), periods_per_year=0)


equity_values = st.lists(st.integers(min_value=100, max_value=10_000_000), min_size=3, max_size=40)


@settings(max_examples=60, deadline=None)
@given(cents=equity_values, scale=st.floats(min_value=1e-3, max_value=1e3))
def test_performance_report_scaled_equity_and_positions_change_no_statistic(cents: list[int], scale: float) -> None:
    equity = _hourly([value / 100 for value in cents])
    positions = pd.Series(np.resize([0.0, 5.0, -3.0], len(cents)), index=equity.index)
    base = performance_report(equity, positions=positions, trade_pnls=[1.0, -2.0]).to_dict()
    scaled = performance_report(equity * scale, positions=positions * scale, trade_pnls=[1.0, -2.0]).to_dict()
    for key, value in base.items():
        if isinstance(value, float):
            assert scaled[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
        else:
            assert scaled[key] == value, key


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(min_value=1e-6, max_value=1e9), min_size=1, max_size=60))
def test_performance_report_positive_equity_max_drawdown_within_unit_interval(values: list[float]) -> None:
    report = performance_report(_hourly(values))
    assert 0.0 <= report.max_drawdown < 1.0
    assert report.max_drawdown_duration <= report.longest_drawdown_duration


def test_the_report_carries_the_funding_received() -> None:
    import pandas as pd

    from traider.backtest.metrics import performance_report

    equity = pd.Series([100.0, 101.0, 102.0], index=pd.date_range("2024-01-01", periods=3, freq="1D", tz="UTC"))
    report = performance_report(equity, funding_received=-1.25)
    assert report.funding_received == -1.25
    assert report.to_dict()["funding_received"] == -1.25
