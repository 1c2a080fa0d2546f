"""The dashboard's queries against a real, migrated PostgreSQL database (as the application role)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from tests.dashboard.conftest import Seeded
from tests.dashboard.seed import BTC, ETH, WORKER
from traider.dashboard import queries
from traider.dashboard.models import aliases_from_history, from_history, registry_view, run_url, version_url
from traider.dashboard.risk import book_risk, limits_for
from traider.risk import kill_switch
from traider.risk.pretrade import PreTradeLimits

STEP = timedelta(minutes=5)


def _snapshots(seeded: Seeded) -> tuple[int, int]:
    """Return (number of paper snapshots, number of them before today's UTC midnight) of the seed."""
    first = seeded.now - timedelta(days=3)
    total = int((seeded.now - first) / STEP) + 1
    midnight = seeded.now.replace(hour=0, minute=0, second=0, microsecond=0)
    before = sum(1 for n in range(total) if first + n * STEP < midnight)
    return total, before


def _close(symbol: str, seeded: Seeded) -> float:
    """Return the seed's last hourly close of `symbol` (the formula of seed.py)."""
    n = 60 * 24 + 1
    base, phase = (40000.0, 0.0) if symbol == BTC else (2500.0, 1.3)
    return base * (1 + 0.05 * math.sin(n / 17.0 + phase))


def test_pnl_today_and_total_per_series(seeded: Seeded, app_engine: Engine) -> None:
    series = queries.pnl_series(app_engine, ("paper",), now=seeded.now)
    assert series[["mode", "strategy"]].values.tolist() == [["paper", WORKER]]
    total, before_midnight = _snapshots(seeded)
    row = series.iloc[0]
    assert row["equity"] == pytest.approx(10000 + 0.5 * total)
    assert row["total_pnl"] == pytest.approx(0.5 * total)
    assert row["pnl_today"] == pytest.approx(0.5 * (total - before_midnight))
    assert queries.pnl_totals(series)["pnl_today"] == pytest.approx(row["pnl_today"])
    both = queries.pnl_series(app_engine, ("paper", "backtest"), now=seeded.now)
    assert sorted(both["mode"]) == ["backtest", "paper"]


def test_equity_curve_is_downsampled_in_sql(seeded: Seeded, app_engine: Engine) -> None:
    curve = queries.equity_curve(app_engine, modes=("paper",), points=100)
    total, _ = _snapshots(seeded)
    assert 50 <= len(curve) <= 100 < total
    assert curve["equity"].iloc[-1] == pytest.approx(10000 + 0.5 * total)  # the last value of the last bucket
    assert curve["bucket"].is_monotonic_increasing
    since, until = queries.window(seeded.now, 1)
    day = queries.equity_curve(app_engine, modes=("paper",), since=since, until=until, points=500)
    assert len(day) <= 500
    assert day["bucket"].min() >= since - timedelta(minutes=5)
    assert queries.total_equity(day)["equity"].iloc[-1] == pytest.approx(10000 + 0.5 * total)


def test_bucket_step_is_round_and_bounded() -> None:
    assert queries.bucket_step(timedelta(days=3), 500) == timedelta(minutes=15)
    assert queries.bucket_step(timedelta(seconds=10), 500) == timedelta(seconds=1)
    assert queries.bucket_step(timedelta(days=3650), 500) == timedelta(days=8)


def test_positions_are_marked_at_the_newest_bar_and_exposure_sums_them(seeded: Seeded, app_engine: Engine) -> None:
    held = queries.positions(app_engine, ("paper",))
    assert sorted(held["symbol"]) == [BTC, ETH]  # the flat SOL/USDT position is not open
    for row in held.itertuples():
        assert row.mark == pytest.approx(_close(row.symbol, seeded))
        assert row.mark_source == "last bar 1h"
        assert row.notional == pytest.approx(row.quantity * row.mark)
    exposure = queries.exposure(app_engine, ("paper",)).iloc[0]
    btc, eth = 0.03 * _close(BTC, seeded), -0.2 * _close(ETH, seeded)
    assert exposure["gross"] == pytest.approx(abs(btc) + abs(eth))
    assert exposure["net"] == pytest.approx(btc + eth)
    assert (exposure["long"], exposure["short"]) == (pytest.approx(btc), pytest.approx(-eth))
    assert queries.positions(app_engine, ("live",)).empty


def test_a_position_without_bars_is_marked_at_its_newest_fill(seeded: Seeded, admin_engine: Engine) -> None:
    with admin_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO trading.positions (mode, venue, symbol, quantity, average_entry_price) "
                "VALUES ('paper', 'binance', 'XRP/USDT', 100, 0.5)"
            )
        )
        order_id = connection.execute(text("SELECT min(id) FROM trading.orders")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO trading.fills (order_id, venue, venue_fill_id, symbol, side, price, quantity, fee_currency, "
                "liquidity, filled_at) VALUES (:order, 'binance', 'xrp-1', 'XRP/USDT', 'buy', 0.6, 1, 'USDT', 'taker', "
                "now() - interval '1 hour'), (:order, 'binance', 'xrp-2', 'XRP/USDT', 'buy', 0.7, 1, 'USDT', 'taker', "
                "now())"
            ),
            {"order": order_id},
        )
    xrp = queries.positions(admin_engine, ("paper",)).set_index("symbol").loc["XRP/USDT"]
    assert (xrp["mark"], xrp["mark_source"], xrp["notional"]) == (pytest.approx(0.7), "last fill", pytest.approx(70))


def test_book_risk_uses_the_modes_limits_var_and_correlation(seeded: Seeded, app_engine: Engine) -> None:
    book = book_risk(app_engine, ("paper",), limits_for(("paper",)), now=seeded.now)
    uses = {use.name: use for use in book.uses}
    assert list(uses) == [
        "stale market data", "daily loss", "order rate", "max position", "gross exposure", "VaR 95% 1 day",
        "correlation",
    ]  # fmt: skip
    assert book.var is not None and 55 <= book.var.days <= 60
    assert uses["VaR 95% 1 day"].value == pytest.approx(book.var.value) and uses["VaR 95% 1 day"].status == "off"
    assert uses["max position"].bound == 2000.0
    assert uses["max position"].value == pytest.approx(0.03 * _close(BTC, seeded))
    assert uses["daily loss"].bound == 400.0 and uses["daily loss"].value == 0.0  # the seeded worker gains
    assert uses["order rate"].value == 0.0 and uses["order rate"].status == "ok"
    assert uses["stale market data"].status == "breached"  # hourly bars are older than 5 s
    assert 0.0 <= (uses["correlation"].value or 0.0) <= 1.0
    assert list(book.returns.columns) == [f"binance:{BTC}", f"binance:{ETH}"]
    live = book_risk(app_engine, ("paper",), limits_for(("live",), "live_institutional"), now=seeded.now)
    var_use = {use.name: use for use in live.uses}["VaR 95% 1 day"]
    assert var_use.bound == pytest.approx(0.001 * live.capital)
    assert limits_for(("paper", "live"), "live_small") == PreTradeLimits.for_mode("live_small")


def test_orders_and_fills_are_counted_and_paginated(seeded: Seeded, app_engine: Engine) -> None:
    since, until = queries.window(seeded.now, 7)
    statuses = dict(queries.order_status_counts(app_engine, modes=("paper",), since=since).values.tolist())
    assert statuses == {"filled": 270, "open": 30}
    assert len(queries.open_orders(app_engine, modes=("paper",))) == 30
    totals = queries.fill_totals(app_engine, since=since, until=until)
    assert sorted(totals["symbol"]) == [BTC, ETH] and totals["fills"].sum() == 270
    activity = queries.fill_activity(app_engine, since=since, until=until, points=50)
    assert len(activity) <= 50 and activity["fills"].sum() == 270
    first = queries.fills_page(app_engine, limit=50, modes=("paper",))
    second = queries.fills_page(app_engine, limit=50, before_id=int(first["id"].min()), modes=("paper",))
    assert len(first) == len(second) == 50
    assert first["id"].is_monotonic_decreasing and second["id"].max() < first["id"].min()
    only_btc = queries.fills_page(app_engine, limit=500, symbol=BTC)
    assert set(only_btc["symbol"]) == {BTC} and len(only_btc) == totals.set_index("symbol").loc[BTC, "fills"]
    orders = queries.recent_orders(app_engine, modes=("paper",), limit=20)
    assert len(orders) == 20 and orders["id"].is_monotonic_decreasing
    assert queries.orders_last_minute(app_engine, ("paper",), now=seeded.now) == 0
    assert queries.stored_fills(app_engine) == 270  # small tables are counted exactly


def test_data_health_reads_the_latest_quality_run_quarantine_and_freshness(seeded: Seeded, app_engine: Engine) -> None:
    quality = queries.quality_latest(app_engine).set_index("table_name")
    assert quality.loc["market.trades", ["run_id", "passed", "failed"]].tolist() == ["run-t", 1, 1]
    assert quality.loc["market.trades", "failed_expectations"] == "no_duplicate_ids"
    assert quality.loc["market.ohlcv", ["run_id", "passed", "failed"]].tolist() == ["run-new", 2, 0]  # not the old run
    failures = queries.quality_failures(app_engine)
    assert failures[["table_name", "expectation"]].values.tolist() == [["market.trades", "no_duplicate_ids"]]
    quarantine = queries.quarantine_counts(app_engine)
    assert quarantine[["reason", "rows"]].values.tolist() == [["non-positive price", 7], ["duplicate id", 3]]
    assert queries.quarantine_counts(app_engine, since=seeded.now - timedelta(seconds=150))["rows"].sum() == 2
    feeds = queries.feed_freshness(app_engine, now=seeded.now)
    assert feeds.iloc[0]["venue"] == "coinbase" and feeds.iloc[0]["age_s"] == pytest.approx(2 * 86400)
    beats = queries.heartbeats(app_engine, now=seeded.now).set_index("component")
    assert beats.loc[WORKER, "age_s"] == pytest.approx(0.0) and len(beats) == 2
    assert len(queries.open_alerts(app_engine)) == 1


def test_models_are_read_from_the_recorded_decisions(seeded: Seeded, app_engine: Engine) -> None:
    from traider.config import Settings

    assert seeded.model in queries.model_names(app_engine)
    decisions = queries.model_decisions(app_engine, model_name=seeded.model)
    assert decisions["version"].tolist() == [3, 2, 1]
    assert decisions.iloc[1]["reasons"] == ["oos_sharpe 0.42 < 1.5"]
    [row] = from_history(app_engine, [seeded.model])
    assert (row.production, row.challenger, row.last_decision and row.last_decision.version) == ("1", "3", 3)
    view = registry_view(app_engine, Settings(mlflow_tracking_uri="http://127.0.0.1:9"), [seeded.model])
    assert view.source == "ops.model_decisions" and "not answering" in view.note
    assert version_url("http://m:5000/", "a b", 3) == "http://m:5000/#/models/a%20b/versions/3"
    assert run_url("http://m:5000", "abc") == "http://m:5000/#/runs/abc"


def test_a_promoted_challenger_is_no_longer_the_challenger() -> None:
    from datetime import UTC, datetime

    from traider.registry.decisions import DecisionRecord
    from traider.registry.gate import Decision

    def record(version: int, action: str, decision: Decision, alias: str | None) -> DecisionRecord:
        return DecisionRecord("m", version, action, decision, alias, None, (), "a", datetime.now(UTC))  # type: ignore[arg-type]

    history = [
        record(1, "gate", Decision.PROMOTE, "production"),
        record(2, "gate", Decision.CHALLENGER, "challenger"),
        record(2, "promote", Decision.PROMOTE, "production"),
    ]
    assert aliases_from_history(history) == (2, None)
    assert aliases_from_history([*history, record(2, "rollback", Decision.PROMOTE, "production")][:2]) == (1, 2)


def test_backtest_against_live_on_the_same_buckets(seeded: Seeded, app_engine: Engine) -> None:
    since, until = seeded.now - timedelta(days=3), seeded.now + timedelta(seconds=1)
    comparison = queries.backtest_vs_live(
        app_engine, live_mode="paper", live_strategy=WORKER, backtest_strategy=WORKER, since=since, until=until,
        points=200,
    )  # fmt: skip
    assert 100 <= len(comparison) <= 200
    assert comparison["live_return"].iloc[0] == pytest.approx(0.0)
    assert comparison["backtest_return"].iloc[0] == pytest.approx(0.0)
    summary = queries.deviation_summary(comparison)
    assert summary["final_deviation"] is not None and summary["final_deviation"] < 0  # the backtest drifts up faster
    assert summary["max_abs_deviation"] == pytest.approx(abs(summary["final_deviation"]))
    assert summary["final_deviation"] == pytest.approx(summary["live_return"] - summary["backtest_return"])


def test_kill_switch_history_lists_every_use(seeded: Seeded, app_engine: Engine) -> None:
    kill_switch.engage(app_engine, actor="operator", reason="venue incident", flatten=True)
    kill_switch.release(app_engine, actor="operator", reason="incident over")
    history = queries.kill_switch_history(app_engine)
    assert history[["engaged", "flatten", "actor", "reason"]].values.tolist() == [
        [False, False, "operator", "incident over"],
        [True, True, "operator", "venue incident"],
    ]


@pytest.mark.slow
def test_a_million_fills_stay_aggregated_in_sql(seeded: Seeded, admin_engine: Engine, app_engine: Engine) -> None:
    """A million fills (and 100,000 orders) written set-based: every read returns a small, aggregated frame."""
    with admin_engine.begin() as connection:
        connection.execute(
            text(
                """
                INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, side, order_type, quantity,
                                            filled_quantity, status, created_at, updated_at)
                SELECT 'big-' || n, 'paper', 'binance', CASE WHEN n % 10 = 0 THEN 'XRP/USDT' ELSE 'BTC/USDT' END,
                       'big', CASE WHEN n % 2 = 0 THEN 'buy' ELSE 'sell' END, 'market', 1, 1, 'filled',
                       :now - (100000 - n) * interval '5 seconds', :now
                FROM generate_series(1, 100000) AS n
                """
            ),
            {"now": seeded.now},
        )
        connection.execute(
            text(
                """
                INSERT INTO trading.fills (order_id, venue, venue_fill_id, symbol, side, price, quantity, fee,
                                           fee_currency, liquidity, filled_at)
                SELECT first.id + k - 1, 'binance', 'big-' || n, CASE WHEN k % 10 = 0 THEN 'XRP/USDT' ELSE 'BTC/USDT' END,
                       CASE WHEN k % 2 = 0 THEN 'buy' ELSE 'sell' END, 40000 + n % 100, 0.1, 0.01, 'USDT', 'taker',
                       :now - (1000000 - n) * interval '500 milliseconds'
                FROM (SELECT min(id) AS id FROM trading.orders WHERE client_order_id = 'big-1') AS first,
                     generate_series(1, 1000000) AS n, LATERAL (SELECT 1 + (n - 1) / 10 AS k) AS o
                ORDER BY n
                """
            ),
            {"now": seeded.now},
        )
        connection.execute(
            text(
                "INSERT INTO trading.positions (mode, venue, symbol, quantity, average_entry_price) "
                "VALUES ('paper', 'binance', 'XRP/USDT', 10, 0.5)"
            )
        )
    with admin_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE trading.fills, trading.orders"))

    since, until = queries.window(seeded.now, 7)
    assert 900_000 <= queries.stored_fills(app_engine) <= 1_100_000
    activity = queries.fill_activity(app_engine, since=since, until=until, points=200)
    assert len(activity) <= 200 and activity["fills"].sum() == 1_000_270
    totals = queries.fill_totals(app_engine, since=since, until=until)
    assert len(totals) == 3 and totals["fills"].sum() == 1_000_270
    page = queries.fills_page(app_engine, limit=50, modes=("paper",))
    assert len(page) == 50 and page["venue_fill_id"].iloc[0] == "big-1000000"
    deep = queries.fills_page(app_engine, limit=50, before_id=int(page["id"].min()) - 500_000)
    assert len(deep) == 50
    assert len(queries.fills_page(app_engine, limit=50, symbol="XRP/USDT")) == 50
    held = queries.positions(app_engine, ("paper",)).set_index("symbol")
    assert len(held) == 3 and held.loc["XRP/USDT", "mark_source"] == "last fill"
    statuses = queries.order_status_counts(app_engine, modes=("paper",), since=since)
    assert len(statuses) == 2 and statuses["orders"].sum() == 100_300
    assert len(queries.recent_orders(app_engine, limit=50)) == 50
    assert queries.orders_last_minute(app_engine, ("paper",), now=seeded.now) == 12  # capped scan of 1,000
    book = book_risk(app_engine, ("paper",), limits_for(("paper",)), now=seeded.now)
    assert len(book.uses) == 7
