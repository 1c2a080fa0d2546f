"""Impact models: off by default, linear and square-root in participation, hand-computed."""

from __future__ import annotations

import pytest

from traider.backtest.costs.impact import ImpactKind, ImpactModel


def test_impact_model_default_is_off() -> None:
    assert ImpactModel().fraction(10.0, None) == 0.0
    assert ImpactModel().apply(100.0, "buy", 10.0, None) == 100.0


def test_impact_model_linear_buy_moves_price_up() -> None:
    # participation 5 / 100 = 0.05; 0.1 × 0.05 = 0.005 -> 100 × 1.005 = 100.5
    model = ImpactModel(ImpactKind.LINEAR, 0.1)
    assert model.fraction(5.0, 100.0) == pytest.approx(0.005)
    assert model.apply(100.0, "buy", 5.0, 100.0) == pytest.approx(100.5)


def test_impact_model_square_root_sell_moves_price_down() -> None:
    # participation 4 / 100 = 0.04; √0.04 = 0.2; 0.01 × 0.2 = 0.002 -> 200 × 0.998 = 199.6
    model = ImpactModel("square_root", 0.01)  # type: ignore[arg-type]  # a string from config is accepted
    assert model.kind is ImpactKind.SQUARE_ROOT
    assert model.apply(200.0, "sell", 4.0, 100.0) == pytest.approx(199.6)


@pytest.mark.parametrize("reference_volume", [None, 0.0])
def test_impact_model_missing_reference_volume_raises_value_error(reference_volume: float | None) -> None:
    with pytest.raises(ValueError, match="linear impact needs a reference volume > 0"):
        ImpactModel(ImpactKind.LINEAR, 0.1).fraction(1.0, reference_volume)


def test_impact_model_negative_coefficient_raises_value_error() -> None:
    with pytest.raises(ValueError, match="impact coefficient must be >= 0"):
        ImpactModel(ImpactKind.LINEAR, -0.1)
