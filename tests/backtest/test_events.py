from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traider.backtest.costs.latency import LatencyModel
from traider.backtest.costs.model import CostModel
from traider.backtest.events import (
    BookUpdate,
    EventEngine,
    bar_events,
    book_events,
    funding_events,
    merge_events,
    run_events,
)
from traider.backtest.vectorised import BarCosts, Execution, run_vectorised
from traider.risk.limits import RiskEngine, RiskLimits
from traider.strategies.base import Strategy
from traider.strategies.funding import FundingDrift, with_funding
from traider.strategies.technical import EmaCrossover

TESTDATA = Path("freqtrade") / "tests" / "testdata"


def _btc(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / TESTDATA / "UNITTEST_BTC-5m.feather").set_index("date")


def _xrp_perp(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from traider.marketdata.files.dispatch import open_file_source
    from traider.marketdata.records import Stream

    bars = pd.read_feather(shared_data / TESTDATA / "futures" / "XRP_USDT_USDT-5m-futures.feather").set_index("date")
    path = shared_data / TESTDATA / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather"
    source = open_file_source(
        path, venue="binance", symbol="XRP/USDT:USDT", timeframe="8h", stream=Stream.FUNDING_RATES
    )
    funding = pd.concat([batch.frame for batch in source.read(Stream.FUNDING_RATES)])
    return bars, funding


@pytest.mark.parametrize("execution", ["next_open", "close"])
@pytest.mark.parametrize("allow_short", [False, True])
def test_event_engine_equals_the_vectorised_engine_on_real_bars(
    shared_data: Path, execution: Execution, allow_short: bool
) -> None:
    bars = _btc(shared_data)
    strategy = EmaCrossover(10, 40, allow_short=allow_short)
    costs = BarCosts(fee_rate=0.001, slippage_bps=3.0)
    vectorised = run_vectorised(bars, strategy.targets(bars), costs=costs, execution=execution)
    events = run_events(strategy, bars, costs=costs, execution=execution)
    assert len(events.trades) == len(vectorised.trades) > 50
    assert np.allclose(events.equity.to_numpy(), vectorised.equity.to_numpy(), rtol=1e-9, atol=0.0)
    assert events.equity.index.equals(vectorised.equity.index)
    assert events.trades["ts"].tolist() == vectorised.trades["ts"].tolist()
    assert np.allclose(events.trades["price"], vectorised.trades["price"], rtol=1e-12)
    assert events.fees_paid == pytest.approx(vectorised.fees_paid, rel=1e-9)
    assert events.slippage_paid == pytest.approx(vectorised.slippage_paid, rel=1e-9)
    assert np.allclose(events.exposure.to_numpy(), vectorised.exposure.to_numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("execution", ["next_open", "close"])
def test_engines_agree_on_funding_paid_and_received_on_real_perp_data(shared_data: Path, execution: Execution) -> None:
    bars, funding = _xrp_perp(shared_data)
    bars = with_funding(bars, funding)
    strategy = FundingDrift(span=12, threshold=0.00002, full_size_rate=0.0002)
    costs = BarCosts(fee_rate=0.0005, slippage_bps=1.0)
    vectorised = run_vectorised(bars, strategy.targets(bars), costs=costs, execution=execution, funding=funding)
    events = run_events(strategy, bars, costs=costs, execution=execution, funding=funding)
    assert vectorised.funding_received != 0.0
    assert events.funding_received == pytest.approx(vectorised.funding_received, rel=1e-9)
    assert np.allclose(events.equity.to_numpy(), vectorised.equity.to_numpy(), rtol=1e-9, atol=0.0)
    assert len(events.trades) == len(vectorised.trades) > 0


def _four_bars() -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=4, freq="8h", tz="UTC")
    return pd.DataFrame({"open": [100.0, 100.0, 110.0, 120.0], "high": 130.0, "low": 90.0,
                         "close": [100.0, 110.0, 120.0, 120.0], "volume": 1.0}, index=index)  # fmt: skip


class _Fixed(Strategy):
    name = "fixed"

    def __init__(self, values: list[float]) -> None:
        self.values = values

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        return bars

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        return pd.Series(self.values[: len(frame)], index=frame.index)


def test_funding_at_a_bar_open_charges_the_position_before_that_bars_trade() -> None:
    bars = _four_bars()
    # short from bar 1's open (100) with 1,000; flat again at bar 3's open (120)
    targets = pd.Series([-1.0, -1.0, 0.0, 0.0], index=bars.index)
    funding = pd.DataFrame(
        {
            "ts": [bars.index[1], bars.index[2] + pd.Timedelta("4h"), bars.index[3]],
            "rate": [0.01, 0.01, 0.01],
            "mark_price": [100.0, 115.0, 120.0],
        }
    )
    result = run_vectorised(bars, targets, costs=BarCosts(fee_rate=0.0), initial_equity=1_000.0, funding=funding)
    units = -10.0
    # at bar 1's open the account is still flat: nothing; mid bar 2: short 10 receives 10 × 115 × 1%;
    # at bar 3's open, before the trade closes it: receives 10 × 120 × 1%
    assert result.funding_received == pytest.approx(11.5 + 12.0)
    assert result.equity.iloc[2] == pytest.approx(1_000.0 + units * (120.0 - 100.0) + 11.5)
    assert result.equity.iloc[3] == pytest.approx(1_000.0 + units * (120.0 - 100.0) + 23.5)
    events = run_events(_Fixed(targets.tolist()), bars, costs=BarCosts(fee_rate=0.0), initial_equity=1_000.0,
                        funding=funding)  # fmt: skip
    assert events.equity.tolist() == pytest.approx(result.equity.tolist(), rel=1e-12)


def test_the_kill_switch_keeps_a_run_flat() -> None:
    bars = _four_bars()
    result = run_events(_Fixed([1.0, 1.0, 1.0, 1.0]), bars, costs=BarCosts(0.001), risk=RiskEngine(halted=True))
    assert result.trades.empty
    assert result.equity.tolist() == [10_000.0] * 4


def test_risk_limits_cap_the_exposure_the_strategy_asks_for() -> None:
    bars = _four_bars()
    result = run_events(_Fixed([1.0] * 4), bars, costs=BarCosts(0.0), risk=RiskEngine(RiskLimits(max_exposure=0.25)))
    assert result.trades["units"].iloc[0] == pytest.approx(2_500.0 / 100.0)


def test_orders_fill_against_the_book_after_the_latency() -> None:
    bars = _four_bars().iloc[:2]
    start = int(bars.index[0].value)
    second = 10**9
    close_0 = start + 8 * 3600 * second
    updates = [
        (start, BookUpdate([(99.0, 5.0)], [(101.0, 5.0)], snapshot=True)),
        (close_0, BookUpdate([], [(101.0, 0.0), (105.0, 50.0)])),  # at the decision: best ask moves to 105
        (close_0 + 2 * second, BookUpdate([], [(103.0, 1.0)])),  # arrives with the order: 1 at 103, rest at 105
    ]
    model = CostModel(venue="binance", latency=LatencyModel(timedelta(seconds=2)))
    engine = EventEngine(_Fixed([1.0, 1.0]), "BTC/USD", BarCosts(0.0), 1_000.0, cost_model=model)
    result = engine.run(merge_events(bar_events(bars.drop(columns="open").assign(open=100.0)), book_events(updates)))
    (fill,) = result.fills
    assert fill.ts == close_0 + 2 * second
    mid = (99.0 + 103.0) / 2.0
    fee_rate = float(model.fee_rate("taker"))
    quantity = 1_000.0 / (mid * (1.0 + fee_rate))
    assert fill.quantity == pytest.approx(quantity)
    assert fill.price == pytest.approx((103.0 + (quantity - 1.0) * 105.0) / quantity)
    assert fill.slippage == pytest.approx((fill.price - mid) * quantity)
    assert fill.client_order_id == f"backtest-BTC/USD-{close_0 + 2 * second}"


def test_a_thin_book_fills_partially_and_the_rest_is_cancelled() -> None:
    bars = _four_bars().iloc[:2]
    start = int(bars.index[0].value)
    updates = [(start, BookUpdate([(99.0, 5.0)], [(101.0, 2.0)], snapshot=True)),
               (start + 8 * 3600 * 10**9, BookUpdate([], []))]  # fmt: skip
    engine = EventEngine(_Fixed([1.0, 1.0]), "BTC/USD", BarCosts(0.0), 1_000.0, cost_model=CostModel())
    result = engine.run(merge_events(bar_events(bars), book_events(updates)))
    (fill,) = result.fills
    assert fill.quantity == 2.0
    assert result.portfolio.position("BTC/USD") == 2.0


def test_events_out_of_time_order_are_refused() -> None:
    bars = _four_bars()
    events = list(bar_events(bars))
    with pytest.raises(ValueError, match="out of order"):
        EventEngine(_Fixed([0.0] * 4), "BTC/USD", BarCosts(0.0)).run([events[2], events[0]])


def test_funding_events_need_mark_prices() -> None:
    frame = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01"], utc=True), "rate": [0.001], "mark_price": [None]})
    with pytest.raises(ValueError, match="mark price"):
        list(funding_events(frame))


def test_pre_trade_limits_hold_through_a_flash_crash() -> None:
    """Price −30% within one bar: the position cap holds, and once the day's loss passes the limit nothing adds
    exposure (a gap on a position already held can lose more than the limit; the limit stops further risk)."""
    from traider.risk.pretrade import PreTradeLimits, PreTradeRisk

    index = pd.date_range("2024-01-01", periods=6, freq="1min", tz="UTC")
    closes = [100.0, 100.0, 70.0, 72.0, 71.0, 71.0]
    bars = pd.DataFrame({"open": [100.0, 100.0, 100.0, 70.0, 72.0, 71.0], "high": 100.0, "low": 70.0,
                         "close": closes, "volume": 1.0}, index=index)  # fmt: skip
    engine = EventEngine(_Fixed([0.5, 0.5, 0.5, 1.0, 1.0, 1.0]), "BTC/USD", BarCosts(0.001), 10_000.0,
                         pretrade=PreTradeRisk(PreTradeLimits.for_mode("paper")))  # fmt: skip
    result = engine.run(bar_events(bars))
    values = np.abs(np.asarray(result.units) * np.asarray(result.marks))
    assert values.max() <= 2_000.0 + 1e-9
    (fill,) = result.fills  # the opening buy, capped; the later wish for more is refused after the crash
    assert fill.quantity * fill.price == pytest.approx(2_000.0)
    assert result.units[-1] == result.units[1]
    assert any("daily loss" in reason for reason in result.refusals)
    assert any("capped at 2,000.00" in reason for reason in result.refusals)
