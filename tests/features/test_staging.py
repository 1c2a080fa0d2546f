"""Only data the quality gate passed reaches staging, and so the features."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from tests.features.conftest import BuiltFeatures
from tests.features.market import UNITTEST_WINDOW, XRP_PERP_WINDOWS, utc
from traider.quality.results import ExpectationResult, SuiteResult, record_results

COUNT = "SELECT count(*) FROM {table} WHERE symbol = :symbol AND timeframe = :timeframe AND ts >= :start AND ts < :end"


def _count(
    connection: Connection, table: str, symbol: str, start: datetime, end: datetime, timeframe: str = "5m"
) -> int:
    query = text(COUNT.format(table=table))
    values = {"symbol": symbol, "timeframe": timeframe, "start": start, "end": end}
    return int(connection.execute(query, values).scalar_one())


def test_rows_of_a_failed_window_never_reach_staging_or_the_features(built_features: BuiltFeatures) -> None:
    with built_features.admin.connect() as connection:
        for window in XRP_PERP_WINDOWS:
            stored = _count(connection, "market.ohlcv", "XRP/USDT:USDT", window.start, window.end)
            staged = _count(connection, "staging.stg_ohlcv", "XRP/USDT:USDT", window.start, window.end)
            featured = _count(connection, "features.features", "XRP/USDT:USDT", window.start, window.end, "1h")
            assert stored > 0
            assert staged == (stored if window.passes else 0), window
            assert (featured > 0) == window.passes, window


def test_rows_outside_every_checked_window_never_reach_staging(built_features: BuiltFeatures) -> None:
    never_checked = (utc(2017, 11, 1), utc(2017, 12, 1))  # the UNITTEST/BTC 1m bars
    with built_features.admin.connect() as connection:
        assert _count(connection, "market.ohlcv", "UNITTEST/BTC", *never_checked, timeframe="1m") > 10_000
        assert _count(connection, "staging.stg_ohlcv", "UNITTEST/BTC", *never_checked, timeframe="1m") == 0
        assert _count(connection, "intermediate.int_bars", "UNITTEST/BTC", *never_checked, timeframe="1h") == 0


def test_rows_written_after_their_window_was_checked_stay_out_until_checked_again(
    built_features: BuiltFeatures,
) -> None:
    moment = utc(2018, 1, 20, 12)
    with built_features.admin.connect() as connection, connection.begin() as transaction:
        connection.execute(
            text("INSERT INTO market.ohlcv (venue, symbol, timeframe, ts, open, high, low, close, volume) "
                 "VALUES ('binance', 'LATE/BTC', '5m', :ts, 1, 1, 1, 1, 1)"),
            {"ts": moment},
        )  # fmt: skip
        window = (UNITTEST_WINDOW.start, UNITTEST_WINDOW.end)
        assert _count(connection, "market.ohlcv", "LATE/BTC", *window) == 1
        assert _count(connection, "staging.stg_ohlcv", "LATE/BTC", *window) == 0
        _record(connection, "recheck-pass", True, moment, utc(2018, 1, 20, 13))
        assert _count(connection, "staging.stg_ohlcv", "LATE/BTC", *window) == 1
        transaction.rollback()


def test_a_later_failed_check_withdraws_the_rows_it_covers(built_features: BuiltFeatures) -> None:
    failed = (utc(2018, 1, 20), utc(2018, 1, 21))
    with built_features.admin.connect() as connection, connection.begin() as transaction:
        before = _count(connection, "staging.stg_ohlcv", "UNITTEST/BTC", UNITTEST_WINDOW.start, UNITTEST_WINDOW.end)
        _record(connection, "recheck-fail", False, *failed)
        assert _count(connection, "staging.stg_ohlcv", "UNITTEST/BTC", *failed) == 0
        after = _count(connection, "staging.stg_ohlcv", "UNITTEST/BTC", UNITTEST_WINDOW.start, UNITTEST_WINDOW.end)
        assert before - after == _count(connection, "market.ohlcv", "UNITTEST/BTC", *failed)  # that day's, only
        transaction.rollback()


def _record(connection: Connection, run_id: str, success: bool, start: datetime, end: datetime) -> None:
    """Record a quality run of market.ohlcv over [start, end) the way the gate does (checked now)."""
    result = SuiteResult(
        suite="ohlcv",
        table="market.ohlcv",
        success=success,
        expectations=(ExpectationResult(name="gaps", expectation_type="unexpected_rows", success=success),),
    )
    record_results(connection, run_id, result, start, end)
