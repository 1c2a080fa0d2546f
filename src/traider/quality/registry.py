"""The custom checks by name: their parameters (validated from the suite file) and their SQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from traider.quality.checks import (
    CrossedBook,
    CrossVenueDivergence,
    Gaps,
    MonotonicIngestion,
    PriceJumps,
    StaleFunding,
    cross_venue_divergence,
    crossed_book,
    gaps,
    monotonic_ingestion,
    price_jumps,
    stale_funding,
)
from traider.quality.definitions import SuiteDefinition, SuiteDefinitionError
from traider.quality.window import Window

_INTERVAL = re.compile(r"^[0-9]+ (second|minute|hour|day|week|month)s?$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

Builder = Callable[[SuiteDefinition, Window, Any], str]

CHECKS: Mapping[str, tuple[type, Builder]] = {
    "monotonic_ingestion": (MonotonicIngestion, monotonic_ingestion),
    "gaps": (Gaps, gaps),
    "price_jumps": (PriceJumps, price_jumps),
    "crossed_book": (CrossedBook, crossed_book),
    "stale_funding": (StaleFunding, stale_funding),
    "cross_venue_divergence": (CrossVenueDivergence, cross_venue_divergence),
}


def check_sql(suite: SuiteDefinition, check: str, window: Window) -> str:
    """Return the unexpected-rows SQL of `check` of `suite` for `window`, its parameters validated."""
    if check not in CHECKS:
        raise SuiteDefinitionError(f"{suite.source}: unknown check {check!r}; known: {', '.join(CHECKS)}")
    kind, build = CHECKS[check]
    params = _parameters(suite, check, kind)
    sql = build(suite, window, params)
    if re.search(r"\bJOIN\b", sql, re.IGNORECASE):  # see traider.quality.checks
        raise AssertionError(f"check {check} must not spell JOIN")
    return sql


def describe(suite: SuiteDefinition, check: str) -> str:
    """Return a one-line description of `check` with its parameters, shown in the Data Docs."""
    kind, _ = CHECKS[check]
    params = _parameters(suite, check, kind)
    values = ", ".join(f"{field.name}={getattr(params, field.name)}" for field in fields(kind))
    return f"{check}: {(kind.__doc__ or '').strip()} ({values})"


def _parameters(suite: SuiteDefinition, check: str, kind: type) -> Any:
    raw = suite.checks[check]
    try:
        params = kind(**raw)
    except TypeError as error:
        known = ", ".join(field.name for field in fields(kind))
        raise SuiteDefinitionError(f"{suite.source}: check {check}: {error} (parameters: {known})") from None
    for field in fields(kind):
        value = getattr(params, field.name)
        if field.name in ("history", "interval", "series_lookback") and not _INTERVAL.match(str(value)):
            raise SuiteDefinitionError(f"{suite.source}: check {check}: {field.name} {value!r} is not like '8 hours'")
        if field.name.endswith(("_column", "tiebreak")) and value is not None and not _IDENTIFIER.match(str(value)):
            raise SuiteDefinitionError(f"{suite.source}: check {check}: {field.name} {value!r} is not an identifier")
        expected = {"int": int, "float": int | float, "bool": bool}.get(str(field.type))
        if expected is not None and (
            not isinstance(value, expected) or (expected is not bool and isinstance(value, bool))
        ):
            raise SuiteDefinitionError(
                f"{suite.source}: check {check}: {field.name} must be {field.type}, not {value!r}"
            )
    return params
