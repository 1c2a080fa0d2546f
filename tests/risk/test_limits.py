from __future__ import annotations

import pytest

from traider.risk.limits import RiskEngine, RiskLimits


def test_targets_within_limits_pass_unchanged() -> None:
    decision = RiskEngine().vet("BTC/USD", 0.5, 0.0)
    assert (decision.approved, decision.reasons) == (0.5, ())


def test_exposure_above_the_limit_is_cut_to_it_and_counted() -> None:
    engine = RiskEngine(RiskLimits(max_exposure=0.3))
    assert engine.vet("BTC/USD", -0.8, 0.0).approved == -0.3
    assert engine.breaches == 1


def test_shorts_are_refused_when_not_allowed() -> None:
    decision = RiskEngine(RiskLimits(allow_short=False)).vet("BTC/USD", -1.0, 0.0)
    assert decision.approved == 0.0
    assert "shorting" in decision.reasons[0]


@pytest.mark.parametrize(
    ("target", "current", "approved"),
    [(1.0, 0.5, 0.5), (0.2, 0.5, 0.2), (-1.0, 0.5, 0.0), (0.5, 0.0, 0.0), (0.0, -0.4, 0.0), (-0.6, -0.4, -0.4)],
)
def test_kill_switch_lets_exposure_shrink_but_never_grow(target: float, current: float, approved: float) -> None:
    assert RiskEngine(halted=True).vet("BTC/USD", target, current).approved == approved


def test_limits_reject_a_max_exposure_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="max_exposure"):
        RiskLimits(max_exposure=1.5)
