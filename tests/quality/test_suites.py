"""The data-quality gate end to end on a real PostgreSQL: clean real data passes, each kind of bad data fails.

Each test loads real market data through the bulk writer, breaks it in one way where it breaks
anything, and runs `check_table` (Great Expectations against the database) on the window.
"""

from __future__ import annotations

import math
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tests.quality.conftest import (
    BAR,
    BOOK_WINDOW,
    DELTAS_WINDOW,
    FUNDING_WINDOW,
    OHLCV_WINDOW,
    TRADES_WINDOW,
    book_delta_frame,
    book_snapshot_frame,
    funding_frame,
    ohlcv_frame,
    trades_frame,
)
from traider.config import get_settings
from traider.db.bulk import write_rows
from traider.errors import TraiderError
from traider.quality.definitions import DEFAULT_DIRECTORY, SuiteDefinitionError
from traider.quality.gate import QualityGateFailed, check_table
from traider.quality.results import SuiteResult
from traider.quality.suites import run_quality_gate


def failing(engine: Engine, table: str, window: tuple[datetime, datetime], run_id: str, home: Path) -> SuiteResult:
    """Run the gate, expect it to fail, return the result it failed with."""
    with pytest.raises(QualityGateFailed) as raised:
        check_table(engine, table, *window, run_id, home=home)
    return raised.value.result


def failed_names(result: SuiteResult) -> list[str]:
    return [expectation.name for expectation in result.failed]


def rows(engine: Engine, query: str, **params: object) -> list[dict[str, object]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(query), params)]


def test_check_table_clean_real_data_passes_every_suite(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    write_rows(app_engine, "market.ohlcv", ohlcv_frame(shared_data))
    write_rows(app_engine, "market.trades", trades_frame(shared_data))
    write_rows(app_engine, "market.funding_rates", funding_frame(shared_data))
    write_rows(app_engine, "market.book_snapshots", book_snapshot_frame(shared_data))
    write_rows(app_engine, "market.book_deltas", book_delta_frame(shared_data))
    windows = {
        "ohlcv": OHLCV_WINDOW,
        "trades": TRADES_WINDOW,
        "funding_rates": FUNDING_WINDOW,
        "book_snapshots": BOOK_WINDOW,
        "book_deltas": DELTAS_WINDOW,
    }

    results = {
        table: check_table(app_engine, table, *window, "clean", home=quality_home) for table, window in windows.items()
    }

    for table, result in results.items():
        assert result.success, result.summary()
        assert result.table == f"market.{table}"
        assert {"expect_table_columns_to_match_set", "monotonic_ingestion"} <= {e.name for e in result.expectations}
    assert results["ohlcv"].expectation("expect_column_values_to_not_be_null(close)").observed["element_count"] == 706
    assert results["trades"].expectation("price_jumps").observed["unexpected_count"] == 0
    stored = rows(
        clean_tables,
        "SELECT table_name, count(*) AS n, bool_and(success) AS ok FROM ops.quality_results "
        "WHERE run_id = 'clean' GROUP BY table_name",
    )
    assert {row["table_name"]: (row["n"], row["ok"]) for row in stored} == {
        result.table: (len(result.expectations), True) for result in results.values()
    }
    assert rows(clean_tables, "SELECT * FROM ops.alerts") == []


def test_check_table_missing_bars_fails_gaps_and_records_everything(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    bars = ohlcv_frame(shared_data)
    write_rows(app_engine, "market.ohlcv", bars.drop(index=range(300, 303)))  # 3 consecutive 5m bars lost

    result = failing(app_engine, "ohlcv", OHLCV_WINDOW, "gap-run", quality_home)

    assert failed_names(result) == ["gaps"]
    gap = result.expectation("gaps")
    assert gap.observed["unexpected_count"] == 1
    assert gap.sample[0]["missing_bars"] == 3
    assert gap.sample[0]["last_bar"] == bars["ts"][299]
    # one row per expectation, the failure with its observed values and sample rows
    stored = rows(clean_tables, "SELECT * FROM ops.quality_results WHERE run_id = 'gap-run'")
    assert len(stored) == len(result.expectations)
    assert all(row["suite"] == "ohlcv" and row["table_name"] == "market.ohlcv" for row in stored)
    assert all(row["data_interval_start"] == OHLCV_WINDOW[0] for row in stored)
    (failure,) = [row for row in stored if not row["success"]]
    assert failure["expectation"] == "gaps"
    assert failure["observed"]["unexpected_count"] == 1
    assert failure["observed"]["sample"][0]["missing_bars"] == 3
    # one critical alert naming the table and the failed expectation
    (alert,) = rows(clean_tables, "SELECT * FROM ops.alerts")
    assert (alert["severity"], alert["source"]) == ("critical", "data_quality")
    assert "market.ohlcv" in alert["message"] and "gaps" in alert["message"]
    assert alert["context"]["run_id"] == "gap-run" and alert["context"]["failed"] == ["gaps"]
    # Data Docs: the index and this run's validation pages, naming the failed check
    assert result.data_docs == quality_home.resolve() / "data_docs" / "index.html"
    assert result.data_docs.is_file()
    pages = list((quality_home / "data_docs" / "validations" / "ohlcv").glob("*/gap-run/*/*.html"))
    assert len(pages) == 2
    assert any("gaps" in page.read_text(encoding="utf-8") for page in pages)
    # re-running the same run replaces its rows and raises no second alert
    failing(app_engine, "ohlcv", OHLCV_WINDOW, "gap-run", quality_home)
    assert len(rows(clean_tables, "SELECT * FROM ops.quality_results WHERE run_id = 'gap-run'")) == len(stored)
    assert len(rows(clean_tables, "SELECT * FROM ops.alerts")) == 1


def test_check_table_twenty_sigma_jump_fails_price_jumps(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    bars = ohlcv_frame(shared_data)
    sigma = float(np.log(bars["close"]).diff().tail(100).std())
    jumped = float(bars["close"].iloc[-1]) * math.exp(20 * sigma)
    spike = bars.tail(1).assign(ts=bars["ts"].iloc[-1] + BAR, open=jumped, high=jumped, low=jumped, close=jumped)
    write_rows(app_engine, "market.ohlcv", pd.concat([bars, spike]))

    result = failing(app_engine, "ohlcv", (OHLCV_WINDOW[0], OHLCV_WINDOW[1] + BAR), "jump-run", quality_home)

    assert failed_names(result) == ["price_jumps"]
    (jump,) = result.expectation("price_jumps").sample
    assert jump["ts"] == spike["ts"].iloc[0]
    assert jump["standard_deviations"] > 15  # 20 standard deviations of the last 100 returns, rolling window


def test_check_table_crossed_and_locked_books_fail_crossed_book(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    books = book_snapshot_frame(shared_data)
    bad = books.tail(2).copy()
    bad["sequence"] = [100, 101]
    best_ask = bad["ask_prices"].iloc[0][0]
    bad["bid_prices"] = [[best_ask + 5.0, *bad["bid_prices"].iloc[0][1:]], [best_ask, *bad["bid_prices"].iloc[1][1:]]]
    write_rows(app_engine, "market.book_snapshots", pd.concat([books, bad]))

    result = failing(app_engine, "book_snapshots", BOOK_WINDOW, "book-run", quality_home)

    assert failed_names(result) == ["crossed_book"]
    crossed = result.expectation("crossed_book")
    assert crossed.observed["unexpected_count"] == 2
    assert {row["book_state"] for row in crossed.sample} == {"crossed", "locked"}


def test_check_table_stale_second_series_fails_stale_funding(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    write_rows(app_engine, "market.funding_rates", funding_frame(shared_data))
    stopped = funding_frame(shared_data, venue="bybit")
    write_rows(app_engine, "market.funding_rates", stopped[stopped["ts"] < FUNDING_WINDOW[1] - timedelta(days=3)])

    result = failing(app_engine, "funding_rates", FUNDING_WINDOW, "funding-run", quality_home)

    assert failed_names(result) == ["stale_funding"]
    (stale,) = result.expectation("stale_funding").sample
    assert stale["venue"] == "bybit"
    assert stale["age_hours"] > 72


def test_check_table_diverging_second_venue_fails_cross_venue_divergence(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    write_rows(app_engine, "market.ohlcv", ohlcv_frame(shared_data))
    write_rows(app_engine, "market.ohlcv", ohlcv_frame(shared_data, venue="kraken", scale=1.03))  # 3% > 2% allowed

    result = failing(app_engine, "ohlcv", OHLCV_WINDOW, "divergence-run", quality_home)

    assert failed_names(result) == ["cross_venue_divergence"]
    divergence = result.expectation("cross_venue_divergence")
    assert divergence.observed["unexpected_count"] == 706
    first = divergence.sample[0]
    assert (first["lowest_venue"], first["highest_venue"]) == ("binance", "kraken")
    assert first["relative_difference"] == pytest.approx(0.03)


def test_check_table_out_of_order_ingestion_fails_monotonic_ingestion(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    bars = ohlcv_frame(shared_data)
    write_rows(app_engine, "market.ohlcv", bars.iloc[400:])
    write_rows(app_engine, "market.ohlcv", bars.iloc[:400])  # arrives later, older timestamps

    result = failing(app_engine, "ohlcv", OHLCV_WINDOW, "order-run", quality_home)

    assert failed_names(result) == ["monotonic_ingestion"]
    assert result.expectation("monotonic_ingestion").observed["unexpected_count"] == 400


def test_check_table_reused_trade_id_fails_trade_id_uniqueness(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    trades = trades_frame(shared_data)
    write_rows(app_engine, "market.trades", trades)
    again = trades.tail(1).assign(ts=trades["ts"].iloc[-1] + timedelta(seconds=1))  # same id, shifted clock
    write_rows(app_engine, "market.trades", again)

    result = failing(app_engine, "trades", TRADES_WINDOW, "duplicate-run", quality_home)

    assert failed_names(result) == ["expect_compound_columns_to_be_unique(venue, symbol, trade_id)"]
    duplicate = result.expectation("expect_compound_columns_to_be_unique(venue, symbol, trade_id)")
    assert duplicate.observed["unexpected_count"] == 2
    assert duplicate.sample[0]["trade_id"] == trades["trade_id"].iloc[-1]


def test_check_table_schema_drift_fails_type_expectation(
    app_engine: Engine, clean_tables: Engine, shared_data: Path, quality_home: Path, tmp_path: Path
) -> None:
    shutil.copy(DEFAULT_DIRECTORY / "funding_rates.yaml", tmp_path / "funding_rates.yaml")
    suite = tmp_path / "funding_rates.yaml"
    suite.write_text(suite.read_text(encoding="utf-8").replace("rate: DOUBLE PRECISION", "rate: NUMERIC"))
    write_rows(app_engine, "market.funding_rates", funding_frame(shared_data))

    with pytest.raises(QualityGateFailed) as raised:
        check_table(
            app_engine, "funding_rates", *FUNDING_WINDOW, "drift-run", home=quality_home, suites_directory=tmp_path
        )

    assert failed_names(raised.value.result) == ["expect_column_values_to_be_of_type(rate)"]
    observed = raised.value.result.expectation("expect_column_values_to_be_of_type(rate)").observed
    assert observed["observed_value"] == "DOUBLE PRECISION"
    assert "market.funding_rates" in str(raised.value) and "of_type(rate)" in str(raised.value)


def test_check_table_unknown_table_raises_suite_definition_error(app_engine: Engine) -> None:
    with pytest.raises(SuiteDefinitionError, match=r"no data-quality suite for table 'market\.orders'"):
        check_table(app_engine, "market.orders", *OHLCV_WINDOW, "x")


def test_check_table_naive_or_empty_window_raises_before_running(app_engine: Engine) -> None:
    with pytest.raises(TraiderError, match="timezone-aware"):
        check_table(app_engine, "ohlcv", datetime(2019, 10, 11), datetime(2019, 10, 12), "x")
    with pytest.raises(TraiderError, match="must end after it starts"):
        check_table(app_engine, "ohlcv", OHLCV_WINDOW[1], OHLCV_WINDOW[0], "x")


def test_quality_gate_failed_is_a_one_line_traider_error_naming_the_table() -> None:
    result = SuiteResult(suite="ohlcv", table="market.ohlcv", success=False, expectations=())

    error = QualityGateFailed(result, *OHLCV_WINDOW)

    assert isinstance(error, TraiderError)
    assert error.result is result
    assert str(error).startswith("data quality gate failed for market.ohlcv [2019-10-11T00:00:00+00:00, ")
    assert "\n" not in str(error)


def test_run_quality_gate_iso_window_from_settings_returns_xcom_summary(
    clean_tables: Engine,
    shared_data: Path,
    quality_home: Path,
    database_url: URL,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_rows(clean_tables, "market.funding_rates", funding_frame(shared_data))
    monkeypatch.setenv("TRAIDER_DATABASE_URL", database_url.render_as_string(hide_password=False))
    monkeypatch.setenv("TRAIDER_HOME", str(quality_home))
    get_settings.cache_clear()
    try:
        summary = run_quality_gate(
            "market.funding_rates", "2021-11-18T00:00:00", "2021-12-18T08:00:00+00:00", run_id="r"
        )
    finally:
        get_settings.cache_clear()

    assert summary == {
        "suite": "funding_rates",
        "table": "market.funding_rates",
        "success": True,
        "expectations": 19,
        "data_docs": str(quality_home.resolve() / "data_docs" / "index.html"),
    }
    assert rows(clean_tables, "SELECT DISTINCT data_interval_start FROM ops.quality_results WHERE run_id = 'r'") == [
        {"data_interval_start": FUNDING_WINDOW[0]}
    ]


def test_check_table_reads_through_a_unix_socket_url_like_the_embedded_servers(
    database_url: URL, clean_tables: Engine, shared_data: Path, quality_home: Path
) -> None:
    from traider.db.engine import make_engine

    socket_url = URL.create(
        database_url.drivername,
        username=database_url.username,
        password=database_url.password,
        database=database_url.database,
        query={"host": "/var/run/postgresql"},
    )
    assert socket_url.host is None
    if not Path("/var/run/postgresql").is_dir():
        pytest.skip("the machine's PostgreSQL has no socket in /var/run/postgresql")
    engine = make_engine(socket_url, role="traider_app")
    try:
        write_rows(engine, "market.ohlcv", ohlcv_frame(shared_data))
        result = check_table(engine, "ohlcv", *OHLCV_WINDOW, "through-socket", home=quality_home)
    finally:
        engine.dispose()
    assert result.success, result.summary()
    assert result.expectation("expect_column_values_to_not_be_null(close)").observed["element_count"] == 706
