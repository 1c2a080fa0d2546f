from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from traider.risk.pretrade import PortfolioState, PreTradeLimits, PreTradeRisk

SECOND = 1_000_000_000
NOW = 1_700_000_000 * SECOND
FLAT = PortfolioState(capital=10_000.0, day_pnl=0.0, positions={})


def _check(
    risk: PreTradeRisk, notional: float, state: PortfolioState = FLAT, **options: object
) -> tuple[float, tuple[str, ...]]:
    options = {"now": NOW, "last_tick": NOW - SECOND, **options}
    result = risk.check("BTC/USD", notional, state, **options)  # type: ignore[arg-type]
    return result.allowed, result.reasons


def test_stale_data_blocks_every_order_even_a_reducing_one() -> None:
    risk = PreTradeRisk(PreTradeLimits(stale_after_s=5.0))
    holding = PortfolioState(10_000.0, 0.0, {"BTC/USD": 1_000.0})
    allowed, reasons = _check(risk, -500.0, holding, last_tick=NOW - 6 * SECOND)
    assert allowed == 0.0 and "stale market data (last tick 6.0 s old)" in reasons[0]
    assert _check(risk, -500.0, holding, last_tick=NOW - 5 * SECOND)[0] == -500.0
    assert "no tick yet" in _check(risk, 100.0, last_tick=None)[1][0]


def test_paper_mode_caps_the_position_at_2000() -> None:
    risk = PreTradeRisk(PreTradeLimits.for_mode("paper"))
    holding = PortfolioState(10_000.0, 0.0, {"BTC/USD": 1_500.0})
    allowed, reasons = _check(risk, 1_000.0, holding)
    assert allowed == pytest.approx(500.0)
    assert reasons == ("BTC/USD: position 2,500.00 capped at 2,000.00",)


def test_after_the_daily_loss_limit_exposure_may_only_shrink() -> None:
    risk = PreTradeRisk(PreTradeLimits.for_mode("paper"))
    losing = PortfolioState(10_000.0, -400.0, {"BTC/USD": 1_000.0})
    assert _check(risk, 200.0, losing)[0] == 0.0
    assert "daily loss 400.00 reached the limit 400.00" in _check(risk, 200.0, losing)[1][0]
    assert _check(risk, -1_000.0, losing)[0] == -1_000.0
    assert _check(risk, -1_500.0, losing)[0] == 0.0  # flipping short is new exposure


def test_kill_switch_allows_only_reductions() -> None:
    risk = PreTradeRisk()
    holding = PortfolioState(10_000.0, 0.0, {"BTC/USD": -800.0})
    assert _check(risk, -100.0, holding, halted=True)[0] == 0.0
    assert _check(risk, 800.0, holding, halted=True)[0] == 800.0


def test_order_rate_limit_counts_the_last_minute() -> None:
    risk = PreTradeRisk(PreTradeLimits(max_orders_per_minute=2))
    assert _check(risk, 10.0)[0] == 10.0
    assert _check(risk, 10.0, now=NOW + 10 * SECOND, last_tick=NOW + 10 * SECOND)[0] == 10.0
    allowed, reasons = _check(risk, 10.0, now=NOW + 20 * SECOND, last_tick=NOW + 20 * SECOND)
    assert allowed == 0.0 and reasons == ("order rate limit 2/min reached",)
    assert _check(risk, 10.0, now=NOW + 61 * SECOND, last_tick=NOW + 61 * SECOND)[0] == 10.0


def test_gross_exposure_cap_counts_the_other_assets() -> None:
    risk = PreTradeRisk(PreTradeLimits(max_total_usd=3_000.0))
    holding = PortfolioState(10_000.0, 0.0, {"ETH/USD": -2_500.0})
    assert _check(risk, 1_000.0, holding)[0] == pytest.approx(500.0)


def _returns(rows: int = 250) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    btc = rng.normal(0.0, 0.03, rows)
    return {"BTC/USD": btc, "WBTC/USD": btc + rng.normal(0.0, 0.001, rows), "XRP/USD": rng.normal(0.0, 0.03, rows)}


def _lookup(names: Sequence[str]) -> np.ndarray:
    history = _returns()
    return np.column_stack([history[name] for name in names])


def test_an_order_that_would_lift_var_over_the_limit_is_refused() -> None:
    risk = PreTradeRisk(PreTradeLimits(var_limit_fraction=0.01), returns=_lookup)
    # 1% of 10,000 = 100 of one-day VaR; a 3%-vol asset allows roughly 100 / (1.645 × 0.03) ≈ 2,000 of it
    assert _check(risk, 1_000.0)[0] == 1_000.0
    allowed, reasons = _check(risk, 5_000.0)
    assert allowed == 0.0 and "one-day VaR" in reasons[0]


def test_opening_a_position_highly_correlated_with_a_held_one_is_refused() -> None:
    risk = PreTradeRisk(PreTradeLimits(max_correlation=0.9), returns=_lookup)
    holding = PortfolioState(10_000.0, 0.0, {"WBTC/USD": 1_000.0})
    allowed, reasons = _check(risk, 500.0, holding)
    assert allowed == 0.0 and "correlation" in reasons[0]
    diversified = PortfolioState(10_000.0, 0.0, {"XRP/USD": 1_000.0})
    assert _check(risk, 500.0, diversified)[0] == 500.0


@pytest.mark.parametrize(("mode", "fraction"), [("live_small", 0.20), ("live_institutional", 0.10)])
def test_live_modes_cap_each_asset_at_a_fraction_of_capital(mode: str, fraction: float) -> None:
    risk = PreTradeRisk(PreTradeLimits.for_mode(mode))  # type: ignore[arg-type]
    assert _check(risk, 5_000.0)[0] == pytest.approx(fraction * 10_000.0)
