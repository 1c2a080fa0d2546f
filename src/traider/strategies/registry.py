"""Strategies by name, for the command line and model specs."""

from __future__ import annotations

from collections.abc import Mapping

from traider.errors import ConfigurationError
from traider.strategies.base import Strategy
from traider.strategies.funding import FundingDrift
from traider.strategies.technical import EmaCrossover, RsiMeanReversion

STRATEGIES: Mapping[str, type[Strategy]] = {
    EmaCrossover.name: EmaCrossover,
    RsiMeanReversion.name: RsiMeanReversion,
    FundingDrift.name: FundingDrift,
}


def make_strategy(name: str, parameters: Mapping[str, str] | None = None) -> Strategy:
    """Build the strategy `name` with `parameters` (text values are converted to numbers where they look like one)."""
    if name not in STRATEGIES:
        raise ConfigurationError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    arguments = {key: parse_parameter(value) for key, value in (parameters or {}).items()}
    try:
        return STRATEGIES[name](**arguments)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"strategy {name!r}: {error}") from None


def parse_parameter(value: str) -> int | float | bool | str:
    """Return `value` as a bool, int or float where it reads as one, else the text."""
    lowered = value.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value
