"""Writing suite outcomes to ops.quality_results and ops.alerts (real PostgreSQL, application role)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import Engine, text

from traider.quality.results import ExpectationResult, SuiteResult, record_results, to_json

START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 1, tzinfo=UTC)


def suite_result(*, gaps_pass: bool) -> SuiteResult:
    expectations = (
        ExpectationResult("expect_column_values_to_not_be_null(close)", "expect_column_values_to_not_be_null", True),
        ExpectationResult(
            "gaps",
            "unexpected_rows_expectation",
            gaps_pass,
            observed={"observed_value": 0 if gaps_pass else 1, "unexpected_count": 0 if gaps_pass else 1},
            sample=() if gaps_pass else ({"venue": "binance", "last_bar": START, "missing_bars": 3},),
        ),
    )
    return SuiteResult("ohlcv", "market.ohlcv", all(e.success for e in expectations), expectations)


def stored(engine: Engine, table: str) -> list[dict[str, object]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def test_record_results_failure_writes_each_expectation_and_one_alert(app_engine: Engine, clean_tables: Engine) -> None:
    with app_engine.begin() as connection:
        record_results(connection, "run-1", suite_result(gaps_pass=False), START, END)

    results = stored(clean_tables, "ops.quality_results")
    assert [(row["expectation"], row["success"]) for row in results] == [
        ("expect_column_values_to_not_be_null(close)", True),
        ("gaps", False),
    ]
    assert results[1]["observed"] == {
        "type": "unexpected_rows_expectation",
        "observed_value": 1,
        "unexpected_count": 1,
        "sample": [{"venue": "binance", "last_bar": "2024-01-01T00:00:00+00:00", "missing_bars": 3}],
    }
    assert (results[1]["data_interval_start"], results[1]["data_interval_end"]) == (START, END)
    (alert,) = stored(clean_tables, "ops.alerts")
    assert (alert["severity"], alert["source"]) == ("critical", "data_quality")
    assert alert["message"] == (
        "data quality gate failed for market.ohlcv [2024-01-01T00:00:00+00:00, 2024-01-01T01:00:00+00:00): gaps"
    )
    assert alert["context"]["failed"] == ["gaps"] and alert["context"]["table"] == "market.ohlcv"


def test_record_results_same_run_again_replaces_rows_without_second_alert(
    app_engine: Engine, clean_tables: Engine
) -> None:
    for result in (suite_result(gaps_pass=False), suite_result(gaps_pass=False), suite_result(gaps_pass=True)):
        with app_engine.begin() as connection:
            record_results(connection, "run-1", result, START, END)

    results = stored(clean_tables, "ops.quality_results")
    assert len(results) == 2 and all(row["success"] for row in results)  # the latest outcome wins
    assert len(stored(clean_tables, "ops.alerts")) == 1


def test_record_results_success_raises_no_alert(app_engine: Engine, clean_tables: Engine) -> None:
    with app_engine.begin() as connection:
        record_results(connection, "run-2", suite_result(gaps_pass=True), START, END)

    assert len(stored(clean_tables, "ops.quality_results")) == 2
    assert stored(clean_tables, "ops.alerts") == []


def test_to_json_non_json_values_become_portable_text_or_numbers() -> None:
    document = {
        "nan": float("nan"),
        "inf": float("-inf"),
        "when": START,
        "age": timedelta(hours=2),
        "price": Decimal("1.5"),
        "numpy": np.float64(2.5),
        "array": np.array([1, 2]),
        "tuple": (1, "a"),
    }

    assert json.loads(to_json(document)) == {
        "nan": "nan",
        "inf": "-inf",
        "when": "2024-01-01T00:00:00+00:00",
        "age": 7200.0,
        "price": 1.5,
        "numpy": 2.5,
        "array": [1, 2],
        "tuple": [1, "a"],
    }


def test_suite_result_summary_names_failed_expectations() -> None:
    assert suite_result(gaps_pass=False).summary() == "market.ohlcv: 1 of 2 expectations failed: gaps"
    assert suite_result(gaps_pass=True).summary() == "market.ohlcv: all 2 expectations of suite ohlcv passed"
