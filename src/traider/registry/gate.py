"""The gate's decision, as pure logic: evidence and thresholds in, `promote` / `challenger` / `reject` out.

A candidate is promoted only if every check passes: out-of-sample Sharpe ≥ `min_sharpe`, out-of-sample
max drawdown ≤ `max_drawdown`, deflated-Sharpe probability ≥ `min_dsr_probability`, a clean look-ahead
check, a recorded out-of-sample window, and a higher Sharpe than the champion on that same window (or no
champion). Passing every absolute check but not beating the champion — or a champion that cannot be
evaluated on the window — makes it a challenger; failing any absolute check rejects it. A missing or
non-finite number fails its check. Every check yields one reason line, passed or not, so the record shows
the whole judgement (e.g. `oos_sharpe 0.42 < 1.5`, `oos_max_drawdown 0.031 <= 0.05`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

DEFAULT_MIN_SHARPE = 1.5
DEFAULT_MAX_DRAWDOWN = 0.05
DEFAULT_MIN_DSR_PROBABILITY = 0.95
THRESHOLD_TAGS = {
    "min_sharpe": "gate.min_sharpe",
    "max_drawdown": "gate.max_drawdown",
    "min_dsr_probability": "gate.min_dsr_probability",
}


class Decision(StrEnum):
    """What the gate does with a candidate."""

    PROMOTE = "promote"
    CHALLENGER = "challenger"
    REJECT = "reject"


@dataclass(frozen=True)
class Thresholds:
    """The spec's gate thresholds (the platform defaults when the run records none)."""

    min_sharpe: float = DEFAULT_MIN_SHARPE
    max_drawdown: float = DEFAULT_MAX_DRAWDOWN
    min_dsr_probability: float = DEFAULT_MIN_DSR_PROBABILITY


@dataclass(frozen=True)
class Evidence:
    """What the training run recorded about a candidate; None where it recorded nothing usable."""

    oos_sharpe: float | None
    oos_max_drawdown: float | None
    dsr_probability: float | None
    lookahead_clean: bool | None
    oos_start: datetime | None
    oos_end: datetime | None

    @property
    def window(self) -> tuple[datetime, datetime] | None:
        """Return the out-of-sample window, or None when it is not (validly) recorded."""
        if self.oos_start is None or self.oos_end is None or self.oos_end <= self.oos_start:
            return None
        return self.oos_start, self.oos_end


@dataclass(frozen=True)
class ChampionResult:
    """The current champion on the candidate's window: its Sharpe, or why it could not be evaluated."""

    version: str
    sharpe: float | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The gate's decision and one reason line per check."""

    decision: Decision
    reasons: tuple[str, ...]


def decide(
    evidence: Evidence,
    thresholds: Thresholds,
    champion: ChampionResult | None,
    *,
    problems: tuple[str, ...] = (),
) -> Verdict:
    """Decide on a candidate; `champion` is None when no version holds `production`.

    `problems` are reasons found while reading the evidence (an unreadable threshold, no run): each
    rejects the candidate.
    """
    checks = [
        _at_least("oos_sharpe", evidence.oos_sharpe, thresholds.min_sharpe),
        _at_most("oos_max_drawdown", evidence.oos_max_drawdown, thresholds.max_drawdown),
        _at_least("dsr_probability", evidence.dsr_probability, thresholds.min_dsr_probability),
        _lookahead(evidence.lookahead_clean),
        _window(evidence),
    ]
    reasons = [*problems, *(line for line, _ in checks)]
    if problems or not all(passed for _, passed in checks):
        return Verdict(Decision.REJECT, tuple(reasons))
    line, beats = _against_champion(evidence, champion)
    reasons.append(line)
    return Verdict(Decision.PROMOTE if beats else Decision.CHALLENGER, tuple(reasons))


def thresholds_from_tags(tags: Mapping[str, str]) -> tuple[Thresholds, tuple[str, ...]]:
    """Read `gate.*` thresholds from run tags (or params); return them and a problem line per unreadable one."""
    values: dict[str, float] = {}
    problems: list[str] = []
    for field, tag in THRESHOLD_TAGS.items():
        raw = tags.get(tag)
        if raw is None or raw.strip() == "":
            continue
        number = _number(raw)
        if number is None:
            problems.append(f"{tag} {raw!r} is not a finite number")
        else:
            values[field] = number
    return Thresholds(**values), tuple(problems)


def evidence_from_run(metrics: Mapping[str, float], tags: Mapping[str, str]) -> tuple[Evidence, tuple[str, ...]]:
    """Read the gate's evidence from a run's metrics and tags (or params); return it and a line per bad value."""
    problems: list[str] = []
    clean_raw = tags.get("lookahead_clean")
    clean = None if clean_raw is None else {"true": True, "false": False}.get(clean_raw.strip().lower())
    if clean_raw is not None and clean is None:
        problems.append(f"lookahead_clean {clean_raw!r} is neither true nor false")
    moments: list[datetime | None] = []
    for tag in ("oos_start", "oos_end"):
        raw = tags.get(tag)
        moment = _moment(raw)
        if raw is not None and moment is None:
            problems.append(f"{tag} {raw!r} is not an ISO time")
        moments.append(moment)
    evidence = Evidence(
        oos_sharpe=_metric(metrics, "oos_sharpe"),
        oos_max_drawdown=_metric(metrics, "oos_max_drawdown"),
        dsr_probability=_metric(metrics, "dsr_probability"),
        lookahead_clean=clean,
        oos_start=moments[0],
        oos_end=moments[1],
    )
    return evidence, tuple(problems)


def _metric(metrics: Mapping[str, float], name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if value is not None and math.isfinite(value) else None


def _moment(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _at_least(name: str, value: float | None, minimum: float) -> tuple[str, bool]:
    if value is None or not math.isfinite(value):
        return f"{name} not recorded (needs >= {_show(minimum)})", False
    if value >= minimum:
        return f"{name} {_show(value)} >= {_show(minimum)}", True
    return f"{name} {_show(value)} < {_show(minimum)}", False


def _at_most(name: str, value: float | None, maximum: float) -> tuple[str, bool]:
    if value is None or not math.isfinite(value):
        return f"{name} not recorded (needs <= {_show(maximum)})", False
    if value <= maximum:
        return f"{name} {_show(value)} <= {_show(maximum)}", True
    return f"{name} {_show(value)} > {_show(maximum)}", False


def _lookahead(clean: bool | None) -> tuple[str, bool]:
    if clean is None:
        return "lookahead_clean not recorded (needs true)", False
    if clean:
        return "lookahead check clean", True
    return "lookahead check found look-ahead (lookahead_clean=false)", False


def _window(evidence: Evidence) -> tuple[str, bool]:
    window = evidence.window
    if window is None:
        return "out-of-sample window not recorded (oos_start < oos_end needed)", False
    return f"out-of-sample window {_span(window)}", True


def _against_champion(evidence: Evidence, champion: ChampionResult | None) -> tuple[str, bool]:
    if champion is None:
        return "no champion in production: nothing to beat", True
    window = _span(evidence.window) if evidence.window else "the window"
    if champion.problem is not None:
        return f"champion v{champion.version} could not be evaluated on {window}: {champion.problem}", False
    if champion.sharpe is None or not math.isfinite(champion.sharpe):
        return f"champion v{champion.version} has no finite Sharpe on {window}", False
    candidate = float(evidence.oos_sharpe or 0.0)
    ours, theirs = _show(candidate), _show(champion.sharpe)
    if ours == theirs:  # close enough to print alike: show every digit
        ours, theirs = repr(candidate), repr(champion.sharpe)
    if candidate > champion.sharpe:
        return f"oos_sharpe {ours} > champion v{champion.version}'s {theirs} on {window}", True
    return f"oos_sharpe {ours} <= champion v{champion.version}'s {theirs} on {window}", False


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _show(value: float) -> str:
    return f"{value:.4g}"


def _span(window: tuple[datetime, datetime]) -> str:
    return f"{window[0].isoformat()}..{window[1].isoformat()}"
