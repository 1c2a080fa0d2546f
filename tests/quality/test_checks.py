"""The custom checks' SQL run directly on a real PostgreSQL (no Great Expectations): edge cases of each rule.

`{batch}` is rendered the way GX renders a query asset: the window's rows as an aliased subquery.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.quality.conftest import (
    BAR,
    BOOK_WINDOW,
    FUNDING_WINDOW,
    OHLCV_WINDOW,
    TRADES_WINDOW,
    book_snapshot_frame,
    funding_frame,
    ohlcv_frame,
    trades_frame,
)
from traider.db.bulk import write_rows
from traider.quality.definitions import SuiteDefinition, SuiteDefinitionError, load_suite
from traider.quality.registry import CHECKS, check_sql, describe
from traider.quality.window import Window


def unexpected(
    engine: Engine, suite: SuiteDefinition, check: str, window: tuple[datetime, datetime]
) -> list[dict[str, Any]]:
    """Return the rows `check` reports for `window`."""
    bounds = Window(*window)
    batch = (
        f"(SELECT * FROM {suite.table} WHERE {suite.time_column} >= {bounds.start_sql} "
        f"AND {suite.time_column} < {bounds.end_sql}) AS subselect"
    )
    with engine.connect() as connection:
        result = connection.execute(text(check_sql(suite, check, bounds).format(batch=batch)))
        return [dict(row._mapping) for row in result]


def with_check(table: str, check: str, **params: Any) -> SuiteDefinition:
    """Return `table`'s suite with `check`'s parameters overridden."""
    suite = load_suite(table)
    return dataclasses.replace(suite, checks={**suite.checks, check: {**suite.checks[check], **params}})


def test_gaps_single_missing_bars_of_real_data_are_tolerated(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    write_rows(app_engine, "market.ohlcv", ohlcv_frame(shared_data))  # has six single-bar gaps

    assert unexpected(app_engine, load_suite("ohlcv"), "gaps", OHLCV_WINDOW) == []
    strict = unexpected(app_engine, with_check("ohlcv", "gaps", max_missing_bars=0), "gaps", OHLCV_WINDOW)
    assert len(strict) == 6 and {row["missing_bars"] for row in strict} == {1}


def test_gaps_across_window_start_and_up_to_window_end_are_reported(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    bars = ohlcv_frame(shared_data)
    write_rows(app_engine, "market.ohlcv", bars.drop(index=range(100, 104)))  # bars 100-103 lost
    start = bars["ts"][102]  # the window opens inside the gap

    head = unexpected(app_engine, load_suite("ohlcv"), "gaps", (start, bars["ts"][200]))
    tail = unexpected(app_engine, load_suite("ohlcv"), "gaps", (bars["ts"][90], start))

    assert [(row["last_bar"], row["next_bar"], row["missing_bars"]) for row in head] == [
        (bars["ts"][99], bars["ts"][104], 4)
    ]
    assert [(row["last_bar"], row["next_bar"], row["missing_bars"]) for row in tail] == [(bars["ts"][99], start, 2)]


def test_gaps_series_silent_for_the_whole_window_is_reported(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    bars = ohlcv_frame(shared_data)
    write_rows(app_engine, "market.ohlcv", bars)
    after = bars["ts"].iloc[-1] + BAR

    (silent,) = unexpected(app_engine, load_suite("ohlcv"), "gaps", (after, after + timedelta(hours=1)))

    assert silent["last_bar"] == bars["ts"].iloc[-1]
    assert silent["missing_bars"] == 12


def test_price_jumps_read_history_before_the_window(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    bars = ohlcv_frame(shared_data)
    bars.loc[500:, ["open", "high", "low", "close"]] *= 1.2  # a lasting 20% step at bar 500
    write_rows(app_engine, "market.ohlcv", bars)

    (jump,) = unexpected(app_engine, load_suite("ohlcv"), "price_jumps", (bars["ts"][500], OHLCV_WINDOW[1]))

    assert jump["ts"] == bars["ts"][500]
    assert jump["log_return"] == pytest.approx(np.log(bars["close"][500] / bars["close"][499]))  # 1.2 times


def test_price_jumps_flat_series_tick_below_floor_is_not_a_jump(app_engine: Engine, clean_tables: Engine) -> None:
    ts = pd.date_range("2024-01-01", periods=60, freq="5min", tz="UTC")
    price = np.full(60, 100.0)
    price[-1] = 100.05  # 0.05% after 59 identical closes: infinitely many standard deviations, under the floor
    flat = pd.DataFrame(
        {"venue": "v", "symbol": "A/B", "timeframe": "5m", "ts": ts}
        | {column: price for column in ("open", "high", "low", "close")}
        | {"volume": 1.0}
    )
    write_rows(app_engine, "market.ohlcv", flat)
    window = (ts[0].to_pydatetime(), ts[-1].to_pydatetime() + BAR)

    assert unexpected(app_engine, load_suite("ohlcv"), "price_jumps", window) == []
    floorless = with_check("ohlcv", "price_jumps", min_abs_log_return=0.0)
    assert len(unexpected(app_engine, floorless, "price_jumps", window)) == 1


def test_price_jumps_real_trades_pass_and_a_spike_trade_fails(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    trades = trades_frame(shared_data)
    spike = trades.iloc[[6000]].assign(trade_id="spike", price=trades["price"][6000] * 1.05)
    write_rows(app_engine, "market.trades", pd.concat([trades, spike]))

    flagged = unexpected(app_engine, load_suite("trades"), "price_jumps", TRADES_WINDOW)

    assert flagged[0]["trade_id"] == "spike"
    assert len(flagged) <= 2  # the spike, and perhaps the way back


def test_monotonic_ingestion_non_strict_allows_equal_but_not_earlier_timestamps(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    trades = trades_frame(shared_data)
    write_rows(app_engine, "market.trades", trades)
    write_rows(app_engine, "market.trades", trades.tail(1).assign(trade_id="same-ms"))  # ingested later, same ts

    assert unexpected(app_engine, load_suite("trades"), "monotonic_ingestion", TRADES_WINDOW) == []
    write_rows(app_engine, "market.trades", trades.tail(1).assign(trade_id="late", ts=trades["ts"].iloc[-1] - BAR))
    (late,) = unexpected(app_engine, load_suite("trades"), "monotonic_ingestion", TRADES_WINDOW)
    assert late["latest_ingested_before"] == trades["ts"].iloc[-1]


def test_crossed_book_allow_locked_reports_only_crossed(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    books = book_snapshot_frame(shared_data)
    locked = books.tail(1).assign(sequence=99)
    locked["bid_prices"] = [[locked["ask_prices"].iloc[0][0], *locked["bid_prices"].iloc[0][1:]]]
    write_rows(app_engine, "market.book_snapshots", pd.concat([books, locked]))

    assert [
        row["book_state"] for row in unexpected(app_engine, load_suite("book_snapshots"), "crossed_book", BOOK_WINDOW)
    ] == ["locked"]
    lenient = with_check("book_snapshots", "crossed_book", allow_locked=True)
    assert unexpected(app_engine, lenient, "crossed_book", BOOK_WINDOW) == []


def test_stale_funding_window_end_beyond_the_data_is_stale(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    write_rows(app_engine, "market.funding_rates", funding_frame(shared_data))
    suite = load_suite("funding_rates")
    start, end = FUNDING_WINDOW

    assert unexpected(app_engine, suite, "stale_funding", (start, end + timedelta(hours=8))) == []  # 16 h: allowed
    (stale,) = unexpected(app_engine, suite, "stale_funding", (start, end + timedelta(hours=9)))
    assert stale["age_hours"] == pytest.approx(17.0, abs=0.01)


def test_cross_venue_divergence_small_premium_passes(
    app_engine: Engine, clean_tables: Engine, shared_data: Path
) -> None:
    write_rows(app_engine, "market.ohlcv", ohlcv_frame(shared_data))
    write_rows(app_engine, "market.ohlcv", ohlcv_frame(shared_data, venue="kraken", scale=1.005))

    assert unexpected(app_engine, load_suite("ohlcv"), "cross_venue_divergence", OHLCV_WINDOW) == []


@pytest.mark.parametrize("table", ["ohlcv", "trades", "book_snapshots", "book_deltas", "funding_rates"])
def test_check_sql_every_check_of_every_suite_avoids_join_and_describes_its_parameters(table: str) -> None:
    suite = load_suite(table)
    window = Window(*OHLCV_WINDOW)

    for check in suite.checks:
        sql = check_sql(suite, check, window)
        assert "{batch}" in sql and "JOIN" not in sql.upper()
        assert describe(suite, check).startswith(f"{check}: ")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_missing_bars": 1, "typo": 2}, "unexpected keyword argument 'typo'"),
        ({"series_lookback": "1 day; DROP TABLE x"}, "is not like '8 hours'"),
        ({"max_missing_bars": "1"}, "must be int"),
        ({"max_missing_bars": True}, "must be int"),
    ],
)
def test_check_sql_bad_parameters_raise_suite_definition_error(params: dict[str, Any], message: str) -> None:
    suite = dataclasses.replace(load_suite("ohlcv"), checks={"gaps": params})

    with pytest.raises(SuiteDefinitionError, match=message):
        check_sql(suite, "gaps", Window(*OHLCV_WINDOW))


def test_check_sql_unknown_check_raises_suite_definition_error() -> None:
    suite = dataclasses.replace(load_suite("ohlcv"), checks={"vibes": {}})

    with pytest.raises(SuiteDefinitionError, match="unknown check 'vibes'"):
        check_sql(suite, "vibes", Window(*OHLCV_WINDOW))
    assert set(CHECKS) >= {"gaps", "price_jumps", "crossed_book", "stale_funding", "cross_venue_divergence"}


def test_window_naive_or_reversed_bounds_raise_value_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2024, 1, 1), datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="must end after it starts"):
        Window(OHLCV_WINDOW[1], OHLCV_WINDOW[1])
