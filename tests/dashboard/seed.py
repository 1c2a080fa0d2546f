"""A small, realistic trading day for the dashboard tests, written set-based in SQL.

Two paper positions (BTC/USDT long, ETH/USDT short) on binance with hourly bars for 60 days, a paper worker's P&L
snapshots every 5 minutes for 3 days and the backtest of the same worker over the same period, a few hundred
orders and fills, quality results (one failing table), quarantined rows, watermarks, heartbeats, alerts and one
model's gate decisions (through the registry's own `decisions.record`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from traider.registry import decisions
from traider.registry.decisions import DecisionRecord
from traider.registry.gate import Decision

WORKER = "worker:paper:binance:BTC/USDT"
BTC, ETH = "BTC/USDT", "ETH/USDT"


def seed(admin_engine: Engine, app_engine: Engine, *, now: datetime) -> str:
    """Write the data set ending at `now` (as the admin role); return the name of the seeded model."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    bars_from = hour - timedelta(days=60)
    with admin_engine.begin() as connection:
        for parent in ("market.ohlcv",):
            connection.execute(
                text("SELECT ops.ensure_monthly_partitions(CAST(:parent AS regclass), :first, :last)"),
                {"parent": parent, "first": bars_from, "last": hour},
            )
        connection.execute(
            text(
                """
                INSERT INTO market.ohlcv (venue, symbol, timeframe, ts, open, high, low, close, volume)
                SELECT 'binance', s.symbol, '1h', t,
                       s.base * (1 + 0.05 * sin(n / 17.0 + s.phase)), s.base * (1 + 0.05 * sin(n / 17.0 + s.phase)) * 1.01,
                       s.base * (1 + 0.05 * sin(n / 17.0 + s.phase)) * 0.99, s.base * (1 + 0.05 * sin(n / 17.0 + s.phase)),
                       10
                FROM generate_series(CAST(:first AS timestamptz), :last, interval '1 hour') WITH ORDINALITY AS g(t, n)
                CROSS JOIN (VALUES ('BTC/USDT', 40000.0, 0.0), ('ETH/USDT', 2500.0, 1.3)) AS s(symbol, base, phase)
                """
            ),
            {"first": bars_from, "last": hour},
        )
        connection.execute(
            text(
                """
                INSERT INTO market.ingest_watermarks (venue, symbol, stream, timeframe, last_ts, updated_at) VALUES
                ('binance', 'BTC/USDT', 'ohlcv', '1h', :last, :now), ('binance', 'ETH/USDT', 'ohlcv', '1h', :last, :now),
                ('coinbase', 'BTC/USD', 'trades', '', :old, :old)
                """
            ),
            {"last": hour, "now": now, "old": now - timedelta(days=2)},
        )
        connection.execute(
            text(
                """
                INSERT INTO trading.pnl_snapshots (mode, strategy, ts, equity, realised_pnl, unrealised_pnl, fees_paid)
                SELECT m.mode, :worker, t, 10000 + n * m.drift, n * m.drift, 0, n * 0.01
                FROM generate_series(CAST(:first AS timestamptz), :now, interval '5 minutes') WITH ORDINALITY AS g(t, n)
                CROSS JOIN (VALUES ('paper', 0.5), ('backtest', 0.6)) AS m(mode, drift)
                """
            ),
            {"worker": WORKER, "first": now - timedelta(days=3), "now": now},
        )
        connection.execute(
            text(
                """
                INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, side, order_type, quantity,
                                            filled_quantity, status, created_at, updated_at)
                SELECT 'seed-' || n, 'paper', 'binance', CASE WHEN n % 2 = 0 THEN 'BTC/USDT' ELSE 'ETH/USDT' END,
                       :worker, CASE WHEN n % 3 = 0 THEN 'sell' ELSE 'buy' END, 'market', 0.01,
                       CASE WHEN n % 10 = 0 THEN 0 ELSE 0.01 END,
                       CASE WHEN n % 10 = 0 THEN 'open' ELSE 'filled' END,
                       :now - n * interval '10 minutes', :now - n * interval '10 minutes'
                FROM generate_series(1, 300) AS n
                """
            ),
            {"worker": WORKER, "now": now},
        )
        connection.execute(
            text(
                """
                INSERT INTO trading.fills (order_id, venue, venue_fill_id, symbol, side, price, quantity, fee,
                                           fee_currency, liquidity, filled_at)
                SELECT id, venue, 'fill-' || client_order_id, symbol, side,
                       CASE WHEN symbol = 'BTC/USDT' THEN 40000 ELSE 2500 END, quantity, 0.4, 'USDT', 'taker', created_at
                FROM trading.orders WHERE client_order_id LIKE 'seed-%' AND status = 'filled' ORDER BY id
                """
            )
        )
        connection.execute(
            text(
                """
                INSERT INTO trading.positions (mode, venue, symbol, quantity, average_entry_price, realised_pnl) VALUES
                ('paper', 'binance', 'BTC/USDT', 0.03, 39000, 12.5), ('paper', 'binance', 'ETH/USDT', -0.2, 2600, -3),
                ('paper', 'binance', 'SOL/USDT', 0, NULL, 1)
                """
            )
        )
        connection.execute(
            text(
                "INSERT INTO trading.worker_state (mode, venue, symbol, last_bar, target) "
                "VALUES ('paper', 'binance', 'BTC/USDT', :hour, 0.3)"
            ),
            {"hour": hour},
        )
        connection.execute(
            text(
                """
                INSERT INTO ops.quality_results (run_id, suite, table_name, expectation, success, observed, checked_at)
                VALUES ('run-old', 'ohlcv', 'market.ohlcv', 'prices_positive', false, '{}', :earlier),
                       ('run-new', 'ohlcv', 'market.ohlcv', 'prices_positive', true, '{}', :now),
                       ('run-new', 'ohlcv', 'market.ohlcv', 'high_not_below_low', true, '{}', :now),
                       ('run-t', 'trades', 'market.trades', 'no_duplicate_ids', false, '{"unexpected": 3}', :now),
                       ('run-t', 'trades', 'market.trades', 'prices_positive', true, '{}', :now)
                """
            ),
            {"now": now, "earlier": now - timedelta(hours=2)},
        )
        connection.execute(
            text(
                """
                INSERT INTO ops.quarantine (source, table_name, reason, record, quarantined_at)
                SELECT 'coinbase', 'market.trades', CASE WHEN n <= 7 THEN 'non-positive price' ELSE 'duplicate id' END,
                       jsonb_build_object('n', n), :now - n * interval '1 minute'
                FROM generate_series(1, 10) AS n
                """
            ),
            {"now": now},
        )
        connection.execute(
            text(
                'INSERT INTO ops.heartbeats (component, ts, details) VALUES (:worker, :now, \'{"state": "running"}\'), '
                "(:worker, :earlier, '{}'), ('worker:paper:binance:ETH/USDT', :earlier, '{}')"
            ),
            {"worker": WORKER, "now": now, "earlier": now - timedelta(minutes=10)},
        )
        connection.execute(
            text(
                "INSERT INTO ops.alerts (severity, source, message, raised_at) VALUES "
                "('critical', 'data_quality', 'data quality gate failed for market.trades', :now)"
            ),
            {"now": now},
        )
    return seed_model(app_engine, now=now)


def seed_model(app_engine: Engine, *, now: datetime) -> str:
    """Record a model's history: v1 promoted, v2 rejected, v3 challenger; return its (unique) name."""
    name = f"xgb_dashboard_{uuid.uuid4().hex[:8]}"
    history = [
        (1, Decision.PROMOTE, "production", ("oos_sharpe 1.9 >= 1.5", "oos_max_drawdown 0.03 <= 0.05")),
        (2, Decision.REJECT, None, ("oos_sharpe 0.42 < 1.5",)),
        (3, Decision.CHALLENGER, "challenger", ("oos_sharpe 1.6 >= 1.5", "does not beat the champion v1")),
    ]
    with app_engine.begin() as connection:
        for version, decision, alias, reasons in history:
            decisions.record(
                connection,
                DecisionRecord(
                    model_name=name,
                    version=version,
                    action="gate",
                    decision=decision,
                    alias=alias,
                    previous_version=1 if alias == "challenger" else None,
                    reasons=reasons,
                    actor="traider-gate",
                    decided_at=now - timedelta(hours=4 - version),
                    run_id=None if version == 2 else f"run{version}",  # a decision may name no run
                ),
            )
    return name


def utc_now() -> datetime:
    """Return the current time in UTC, to the microsecond PostgreSQL keeps."""
    return datetime.now(UTC)
