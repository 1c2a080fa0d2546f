"""The suite files in expectations/ and the rules for reading them."""

from __future__ import annotations

from pathlib import Path

import pytest

from traider.marketdata.records import COLUMNS, NATURAL_KEYS, Stream
from traider.quality.definitions import TABLES, SuiteDefinitionError, load_suite, parse_suite
from traider.quality.registry import CHECKS

MINIMAL = {"suite": "ohlcv", "table": "market.ohlcv", "series": ["venue"], "schema": {"venue": "TEXT"}}


@pytest.mark.parametrize("stream", list(Stream))
def test_load_suite_every_market_table_matches_the_record_model(stream: Stream) -> None:
    suite = load_suite(stream.table)

    assert suite.name == stream.value and suite.table == stream.table and suite.time_column == "ts"
    assert list(suite.columns) == [*COLUMNS[stream], "ingested_at"]
    uniqueness = [spec.kwargs["column_list"] for spec in suite.expectations if "column_list" in spec.kwargs]
    assert list(NATURAL_KEYS[stream]) in uniqueness
    assert set(suite.checks) <= set(CHECKS) and "monotonic_ingestion" in suite.checks
    assert len({spec.name for spec in suite.expectations}) == len(suite.expectations)


def test_load_suite_thresholds_are_read_from_the_files() -> None:
    ohlcv, funding = load_suite("ohlcv"), load_suite("market.funding_rates")

    assert ohlcv.checks["price_jumps"]["n_std"] == 10 and ohlcv.checks["price_jumps"]["window"] == 100
    assert ohlcv.checks["cross_venue_divergence"]["max_relative_difference"] == 0.02
    assert funding.checks["stale_funding"] == {"interval": "8 hours", "max_intervals": 2, "series_lookback": "7 days"}
    assert tuple(stream.value for stream in Stream) == TABLES


def test_parse_suite_columns_shorthand_expands_one_expectation_per_column() -> None:
    raw = MINIMAL | {
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "columns": ["venue", "symbol"]},
            {"type": "expect_column_values_to_be_between", "column": "volume", "min_value": 0, "name": "volume>=0"},
        ]
    }

    suite = parse_suite(raw, Path("x.yaml"))

    assert [(spec.name, dict(spec.kwargs)) for spec in suite.expectations] == [
        ("expect_column_values_to_not_be_null(venue)", {"column": "venue"}),
        ("expect_column_values_to_not_be_null(symbol)", {"column": "symbol"}),
        ("volume>=0", {"column": "volume", "min_value": 0}),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2], "expected a mapping"),
        ({"suite": "ohlcv"}, "missing key 'table'"),
        (MINIMAL | {"table": "market.ohlcv; DROP"}, "not a plain lower-case SQL identifier"),
        (MINIMAL | {"series": ["Venue"]}, "series: 'Venue'"),
        (
            MINIMAL | {"expectations": [{"type": "expect_column_values_to_not_be_null", "columns": ["a", "a"]}]},
            "expectation names must be unique",
        ),
        (MINIMAL | {"expectations": [{"type": "t", "column": "x y"}]}, "column: 'x y'"),
    ],
)
def test_parse_suite_malformed_file_raises_one_line_suite_definition_error(raw: object, message: str) -> None:
    with pytest.raises(SuiteDefinitionError, match=message) as raised:
        parse_suite(raw, Path("bad.yaml"))
    assert str(raised.value).startswith("bad.yaml: ") and "\n" not in str(raised.value)


def test_load_suite_missing_or_invalid_file_raises_suite_definition_error(tmp_path: Path) -> None:
    with pytest.raises(SuiteDefinitionError, match="cannot read suite file"):
        load_suite("ohlcv", tmp_path)
    (tmp_path / "trades.yaml").write_text("suite: [unclosed\n", encoding="utf-8")
    with pytest.raises(SuiteDefinitionError, match="not valid YAML"):
        load_suite("trades", tmp_path)
    with pytest.raises(SuiteDefinitionError, match="no data-quality suite for table 'orders'"):
        load_suite("orders", tmp_path)
