"""The simulator's config: documented, validated defaults; the venue is not a setting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from traider.marketdata.simulator import VENUE, SimulatorConfig


def test_config_defaults_every_field_documented() -> None:
    for name, field in SimulatorConfig.model_fields.items():
        assert field.description, f"{name} has no description"


def test_config_venue_not_configurable() -> None:
    assert VENUE == "sim"
    with pytest.raises(ValidationError, match="venue"):
        SimulatorConfig(venue="binance")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"transitions": ((0.0, 1.0), (1.0, 0.0))}, "4x4 matrix"),
        ({"transitions": ((0.5, 0.5, 0.0, 0.0),) * 4}, "zero diagonal"),
        ({"funding_interval_hours": 5}, "divide 24 hours"),
        ({"epoch": datetime(2020, 1, 1, 12, tzinfo=UTC)}, "UTC midnight"),
        ({"epoch": datetime(2020, 1, 1)}, "timezone"),
    ],
)
def test_config_inconsistent_settings_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SimulatorConfig(**changes)  # type: ignore[arg-type]


def test_config_frozen() -> None:
    config = SimulatorConfig()
    with pytest.raises(ValidationError):
        config.seed = 3  # type: ignore[misc]
