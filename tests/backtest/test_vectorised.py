from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from traider.backtest.costs.model import CostModel
from traider.backtest.vectorised import BarCosts, run_vectorised
from traider.strategies.technical import EmaCrossover

INDEX = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
BARS = pd.DataFrame({"open": [100.0, 110.0, 120.0, 90.0], "close": [105.0, 115.0, 100.0, 95.0]}, index=INDEX)
TARGETS = pd.Series([1.0, 1.0, 0.0, 0.0], index=INDEX)


def test_run_vectorised_next_open_hand_computed_with_fees() -> None:
    result = run_vectorised(BARS, TARGETS, costs=BarCosts(fee_rate=0.001), initial_equity=10_000.0)
    # bar 1 open 110: all in, fee included: units = 10,000 / (110 × 1.001) = 90.8182…; cash 0
    # bar 3 open 90: sell them all; fee = units × 90 × 0.001; cash = units × 90 × 0.999
    units = 10_000.0 / (110.0 * 1.001)
    expected = [10_000.0, units * 115.0, units * 100.0, units * 90.0 * 0.999]
    assert result.equity.tolist() == pytest.approx(expected, rel=1e-12)
    assert result.fees_paid == pytest.approx(units * 110.0 * 0.001 + units * 90.0 * 0.001, rel=1e-12)
    assert result.slippage_paid == 0.0
    assert result.trades["side"].tolist() == ["buy", "sell"]
    assert result.trades["ts"].tolist() == [INDEX[1], INDEX[3]]
    assert result.units.tolist() == pytest.approx([0.0, units, units, 0.0])


def test_run_vectorised_slippage_is_paid_and_reported_apart_from_fees() -> None:
    result = run_vectorised(BARS, TARGETS, costs=BarCosts(fee_rate=0.0, slippage_bps=10.0), initial_equity=10_000.0)
    units = 10_000.0 / 110.11  # buy at 110 × 1.001 = 110.11 with all the cash; sell at 90 × 0.999 = 89.91
    assert result.trades["price"].tolist() == pytest.approx([110.11, 89.91])
    assert result.equity.iloc[-1] == pytest.approx(units * 89.91, rel=1e-12)
    assert result.slippage_paid == pytest.approx(units * 110.0 * 0.001 + units * 90.0 * 0.001, rel=1e-12)
    assert result.fees_paid == 0.0


def test_run_vectorised_half_target_keeps_half_of_equity_in_cash() -> None:
    half = pd.Series([0.5, 0.5, 0.5, 0.5], index=INDEX)
    result = run_vectorised(BARS, half, costs=BarCosts(fee_rate=0.0), initial_equity=10_000.0)
    units = 5_000.0 / 110.0
    assert result.equity.iloc[-1] == pytest.approx(5_000.0 + units * 95.0, rel=1e-12)
    assert result.exposure.iloc[1] == pytest.approx(units * 115.0 / (5_000.0 + units * 115.0), rel=1e-12)


def test_run_vectorised_close_execution_trades_at_the_deciding_bar() -> None:
    result = run_vectorised(BARS, TARGETS, costs=BarCosts(fee_rate=0.0), execution="close")
    units = 10_000.0 / 105.0  # bought at bar 0's close, sold at bar 2's close (stamped at those closes)
    assert result.trades["ts"].tolist() == [INDEX[1], INDEX[3]]
    assert result.equity.iloc[-1] == pytest.approx(units * 100.0, rel=1e-12)


def test_run_vectorised_short_target_profits_when_price_falls() -> None:
    falling = pd.Series([-1.0, -1.0, -1.0, -1.0], index=INDEX)
    result = run_vectorised(BARS, falling, costs=BarCosts(fee_rate=0.0), initial_equity=1_000.0)
    units = -1_000.0 / 110.0  # short from bar 1's open at 110; bar 3 closes at 95
    assert result.equity.iloc[-1] == pytest.approx(1_000.0 + units * (95.0 - 110.0), rel=1e-12)
    assert result.exposure.iloc[1] < 0


def test_run_vectorised_rejects_misaligned_targets() -> None:
    with pytest.raises(ValueError, match="index"):
        run_vectorised(BARS, TARGETS.iloc[:3], costs=BarCosts(fee_rate=0.0))


def test_bar_costs_from_cost_model_takes_the_venue_taker_rate() -> None:
    model = CostModel(venue="binance", market_type="spot")
    costs = BarCosts.from_cost_model(model, slippage_bps=2.0)
    assert costs.fee_rate == float(model.fee_schedule.rate("binance", "spot", "taker", 0.0))
    assert costs.slippage_bps == 2.0


def test_run_vectorised_equals_vectorbt_from_signals_on_real_data(shared_data: Path) -> None:
    """Same EMA-crossover signals and fees: the equity curves agree to 1e-9 (vectorbt trades at the close)."""
    import numpy as np
    import vectorbt as vbt

    bars = pd.read_feather(shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather").set_index(
        "date"
    )
    targets = EmaCrossover(fast=10, slow=40).targets(bars)
    change = targets.diff().fillna(targets)
    entries, exits = change > 0, change < 0
    fee = 0.001
    ours = run_vectorised(bars, targets, costs=BarCosts(fee_rate=fee), initial_equity=10_000.0, execution="close")
    theirs = vbt.Portfolio.from_signals(
        bars["close"], entries, exits, fees=fee, init_cash=10_000.0, size=np.inf, freq="5min"
    ).value()
    assert entries.sum() > 20
    assert np.allclose(ours.equity.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=0.0)
