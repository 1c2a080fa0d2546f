"""The gate's decision by hand cases, and properties that hold for any evidence."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.registry.errors import RegistryError
from traider.registry.evaluation import parse_model_uri
from traider.registry.gate import (
    ChampionResult,
    Decision,
    Evidence,
    Thresholds,
    decide,
    evidence_from_run,
    thresholds_from_tags,
)

START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
GOOD = Evidence(
    oos_sharpe=1.8, oos_max_drawdown=0.04, dsr_probability=0.97, lookahead_clean=True, oos_start=START, oos_end=END
)
SPAN = "2024-01-01T00:00:00+00:00..2024-03-01T00:00:00+00:00"


def test_decide_all_checks_pass_without_champion_promotes_with_a_line_per_check() -> None:
    verdict = decide(GOOD, Thresholds(), None)
    assert verdict.decision is Decision.PROMOTE
    assert verdict.reasons == (
        "oos_sharpe 1.8 >= 1.5",
        "oos_max_drawdown 0.04 <= 0.05",
        "dsr_probability 0.97 >= 0.95",
        "lookahead check clean",
        f"out-of-sample window {SPAN}",
        "no champion in production: nothing to beat",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"oos_sharpe": 0.42}, "oos_sharpe 0.42 < 1.5"),
        ({"oos_max_drawdown": 0.08}, "oos_max_drawdown 0.08 > 0.05"),
        ({"dsr_probability": 0.5}, "dsr_probability 0.5 < 0.95"),
        ({"lookahead_clean": False}, "lookahead check found look-ahead (lookahead_clean=false)"),
        ({"lookahead_clean": None}, "lookahead_clean not recorded (needs true)"),
        ({"oos_sharpe": None}, "oos_sharpe not recorded (needs >= 1.5)"),
        ({"oos_sharpe": math.nan}, "oos_sharpe not recorded (needs >= 1.5)"),
        ({"oos_max_drawdown": math.inf}, "oos_max_drawdown not recorded (needs <= 0.05)"),
        ({"oos_end": None}, "out-of-sample window not recorded (oos_start < oos_end needed)"),
        ({"oos_end": START}, "out-of-sample window not recorded (oos_start < oos_end needed)"),
    ],
)
def test_decide_one_failing_check_rejects_and_names_it(change: dict[str, object], reason: str) -> None:
    verdict = decide(replace(GOOD, **change), Thresholds(), ChampionResult("1", sharpe=0.1))  # type: ignore[arg-type]
    assert verdict.decision is Decision.REJECT
    assert reason in verdict.reasons
    assert not any("champion" in line for line in verdict.reasons), "a rejected candidate is not compared"


def test_decide_values_exactly_at_the_thresholds_pass() -> None:
    evidence = replace(GOOD, oos_sharpe=1.5, oos_max_drawdown=0.05, dsr_probability=0.95)
    assert decide(evidence, Thresholds(), None).decision is Decision.PROMOTE


def test_decide_uses_the_specs_thresholds() -> None:
    strict = Thresholds(min_sharpe=2.0, max_drawdown=0.02, min_dsr_probability=0.99)
    verdict = decide(GOOD, strict, None)
    assert verdict.decision is Decision.REJECT
    assert verdict.reasons[:3] == ("oos_sharpe 1.8 < 2", "oos_max_drawdown 0.04 > 0.02", "dsr_probability 0.97 < 0.99")


def test_decide_beating_the_champion_on_the_window_promotes() -> None:
    verdict = decide(GOOD, Thresholds(), ChampionResult("3", sharpe=1.6))
    assert verdict.decision is Decision.PROMOTE
    assert verdict.reasons[-1] == f"oos_sharpe 1.8 > champion v3's 1.6 on {SPAN}"


@pytest.mark.parametrize("champion_sharpe", [1.8, 2.4])
def test_decide_not_beating_the_champion_makes_a_challenger(champion_sharpe: float) -> None:
    verdict = decide(GOOD, Thresholds(), ChampionResult("3", sharpe=champion_sharpe))
    assert verdict.decision is Decision.CHALLENGER
    assert verdict.reasons[-1].startswith("oos_sharpe 1.8 <= champion v3's")


def test_decide_nearly_equal_sharpes_print_every_digit() -> None:
    verdict = decide(replace(GOOD, oos_sharpe=1.80001), Thresholds(), ChampionResult("3", sharpe=1.80002))
    assert verdict.decision is Decision.CHALLENGER
    assert "1.80001 <= champion v3's 1.80002" in verdict.reasons[-1]


@pytest.mark.parametrize(
    ("champion", "reason"),
    [
        (ChampionResult("3", problem="its window differs"), f"champion v3 could not be evaluated on {SPAN}: its"),
        (ChampionResult("3", sharpe=math.nan), "champion v3 has no finite Sharpe"),
    ],
)
def test_decide_champion_that_cannot_be_compared_makes_a_challenger(champion: ChampionResult, reason: str) -> None:
    verdict = decide(GOOD, Thresholds(), champion)
    assert verdict.decision is Decision.CHALLENGER
    assert verdict.reasons[-1].startswith(reason)


def test_decide_problems_found_reading_the_run_reject() -> None:
    verdict = decide(GOOD, Thresholds(), None, problems=("gate.min_sharpe 'high' is not a finite number",))
    assert verdict.decision is Decision.REJECT
    assert verdict.reasons[0] == "gate.min_sharpe 'high' is not a finite number"


def test_thresholds_from_tags_reads_the_spec_and_defaults_the_rest() -> None:
    thresholds, problems = thresholds_from_tags({"gate.min_sharpe": "2.5", "gate.max_drawdown": ""})
    assert thresholds == Thresholds(min_sharpe=2.5, max_drawdown=0.05, min_dsr_probability=0.95)
    assert problems == ()


@pytest.mark.parametrize("raw", ["high", "nan", "inf"])
def test_thresholds_from_tags_unreadable_value_is_a_problem(raw: str) -> None:
    thresholds, problems = thresholds_from_tags({"gate.min_dsr_probability": raw})
    assert thresholds == Thresholds()
    assert problems == (f"gate.min_dsr_probability {raw!r} is not a finite number",)


def test_evidence_from_run_reads_metrics_and_tags() -> None:
    evidence, problems = evidence_from_run(
        {"oos_sharpe": 1.7, "oos_max_drawdown": 0.02, "dsr_probability": 0.96},
        {"lookahead_clean": "True", "oos_start": "2024-01-01T00:00:00", "oos_end": "2024-03-01T00:00:00+00:00"},
    )
    assert problems == ()
    assert evidence == Evidence(1.7, 0.02, 0.96, True, START, END)  # a time without zone is UTC


def test_evidence_from_run_reports_unreadable_tags_and_missing_metrics() -> None:
    evidence, problems = evidence_from_run(
        {"oos_sharpe": math.nan}, {"lookahead_clean": "maybe", "oos_start": "yesterday"}
    )
    assert evidence == Evidence(None, None, None, None, None, None)
    assert problems == ("lookahead_clean 'maybe' is neither true nor false", "oos_start 'yesterday' is not an ISO time")
    assert decide(evidence, Thresholds(), None, problems=problems).decision is Decision.REJECT


def test_parse_model_uri_splits_name_and_version() -> None:
    assert parse_model_uri("models:/btc_xgb/12") == ("btc_xgb", "12")
    for bad in ("models:/btc_xgb@production", "runs:/abc/model", "models:/12"):
        with pytest.raises(RegistryError):
            parse_model_uri(bad)


finite = st.floats(min_value=-5, max_value=5, allow_nan=False)
maybe_number = st.one_of(st.none(), st.just(math.nan), finite)


@given(
    sharpe=maybe_number,
    drawdown=maybe_number,
    dsr=maybe_number,
    clean=st.sampled_from([True, False, None]),
    champion=st.one_of(st.none(), finite),
)
def test_decide_promotes_only_when_every_check_passes_and_the_champion_is_beaten(
    sharpe: float | None, drawdown: float | None, dsr: float | None, clean: bool | None, champion: float | None
) -> None:
    evidence = Evidence(sharpe, drawdown, dsr, clean, START, END)
    verdict = decide(evidence, Thresholds(), None if champion is None else ChampionResult("1", sharpe=champion))
    absolute = (
        sharpe is not None
        and sharpe >= 1.5
        and drawdown is not None
        and drawdown <= 0.05
        and dsr is not None
        and dsr >= 0.95
        and clean is True
    )
    beats = champion is None or (sharpe is not None and sharpe > champion)
    expected = Decision.REJECT if not absolute else Decision.PROMOTE if beats else Decision.CHALLENGER
    assert verdict.decision is expected
    assert len(verdict.reasons) == (5 if expected is Decision.REJECT else 6)
