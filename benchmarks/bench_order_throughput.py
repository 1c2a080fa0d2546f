"""Benchmark `order_throughput`: orders and fills persisted per second with the exactly-once guarantees.

Ours: `traider.execution.batch.record_batch` with 1,000 orders per transaction (group commit) — unique
client order ids and venue fill ids, order status, positions by the average-price rule under a row lock,
quote balance, one audit event per order and per fill, synchronous commit. Also measured and reported:
the per-order path the worker uses today (`record_order` then `record_fill`, two transactions per order).
The peer is the raw limit on the same server: the same order and fill rows inserted with one multi-row
INSERT each per batch of 1,000 into tables with the same unique keys, no audit, no position, one commit per
batch. Figures are orders (each with one fill) per second. Target: >= 10,000 per second (the roadmap asks
10,000 per hour).
"""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks.bench_ingest import bench_database, postgres_server
from benchmarks.harness import BenchmarkResult, repeats

ORDERS_ENV = "TRAIDER_BENCH_ORDERS"
BATCH = 1_000
SINGLE_ORDERS = 500
TARGET_PER_SECOND = 10_000.0


def _orders(count: int, run: int) -> list[Any]:
    from traider.backtest.costs.fills import Side
    from traider.execution.orders import Fill, Order

    pairs = []
    start = 1_700_000_000_000_000_000 + run * 10**15
    for number in range(count):
        side = Side.BUY if number % 2 == 0 else Side.SELL
        order = Order(f"bench-{run}-{number}", "BTC/USDT", side, 0.01, start + number * 10**9, 1.0)
        fill = Fill(
            order.client_order_id,
            f"{order.client_order_id}-1",
            "BTC/USDT",
            side,
            0.01,
            30_000.0 + number % 7,
            0.3,
            0.01,
            "taker",
            order.decided_at + 1,
        )
        pairs.append((order, fill))
    return pairs


def run() -> BenchmarkResult:
    """Persist the same orders and fills both ways and return orders per second (higher is better)."""
    import psycopg
    from sqlalchemy import text

    from traider.db.engine import make_engine
    from traider.db.url import libpq_dsn
    from traider.execution.batch import record_batch
    from traider.execution.store import OrderContext, TradingStore

    count = int(os.environ.get(ORDERS_ENV, "10000"))
    runs = repeats(3)
    ours_runs, peer_runs, single_runs = [], [], []
    with postgres_server() as (admin_url, _), bench_database(admin_url) as url:
        engine = make_engine(url, role="traider_app")
        store = TradingStore(engine, mode="paper", venue="binance", actor="benchmark")
        store.deposit("USDT", 1e9)
        context = OrderContext(strategy="benchmark", model_name="bench", model_version="1")
        with psycopg.connect(libpq_dsn(url), autocommit=True) as admin:
            admin.execute("CREATE SCHEMA bench")
            admin.execute("CREATE TABLE bench.orders (LIKE trading.orders INCLUDING ALL)")
            admin.execute(
                "CREATE TABLE bench.fills (client_order_id text NOT NULL, venue text NOT NULL, "
                "venue_fill_id text NOT NULL, price numeric, quantity numeric, fee numeric, "
                "filled_at timestamptz, UNIQUE (venue, venue_fill_id))"
            )
        for number in range(runs):
            pairs = _orders(count, number)
            started = time.perf_counter()
            for start in range(0, count, BATCH):
                record_batch(store, pairs[start : start + BATCH], context, fee_currency="USDT")
            ours_runs.append(count / (time.perf_counter() - started))
            peer_runs.append(count / _raw(libpq_dsn(url), pairs))
            singles = _orders(SINGLE_ORDERS, runs + number)
            started = time.perf_counter()
            for order, fill in singles:
                store.record_order(order, context)
                store.record_fill(fill, fee_currency="USDT")
            single_runs.append(SINGLE_ORDERS / (time.perf_counter() - started))
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM trading.fills")).scalar_one()
        if stored != (count + SINGLE_ORDERS) * runs:
            raise RuntimeError(f"{stored} fills stored, not {(count + SINGLE_ORDERS) * runs}: the timing means nothing")
        engine.dispose()
    return BenchmarkResult.compare(
        name="order_throughput",
        description=__doc__.strip().splitlines()[0] if __doc__ else "",
        unit="orders/s",
        ours_runs=ours_runs,
        peer_runs=peer_runs,
        peer_name="raw multi-row INSERT of the same rows, 1,000 per commit, no audit or positions",
        target=TARGET_PER_SECOND,
        target_of="ours",
        details={
            "orders_per_run": count,
            "fills_per_order": 1,
            "orders_per_transaction": BATCH,
            "per_order_path_orders_per_s": sorted(single_runs)[len(single_runs) // 2],
            "per_order_path": "record_order + record_fill: 2 transactions and 2 audit events per order",
        },
    )


def _raw(dsn: str, pairs: list[Any]) -> float:
    import datetime as dt

    import psycopg

    def moment(nanoseconds: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(nanoseconds / 1e9, tz=dt.UTC)

    started = time.perf_counter()
    with psycopg.connect(dsn) as connection:
        for start in range(0, len(pairs), 1_000):
            chunk = pairs[start : start + 1_000]
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bench.orders (client_order_id, mode, venue, symbol, strategy, side, order_type, "
                    "quantity, filled_quantity, status) VALUES (%s, 'paper', 'binance', %s, 'benchmark', %s, 'market', "
                    "%s, %s, 'filled') ON CONFLICT (client_order_id) DO NOTHING",
                    [(o.client_order_id, o.symbol, o.side.value, o.quantity, o.quantity) for o, _ in chunk],
                )
                cursor.executemany(
                    "INSERT INTO bench.fills VALUES (%s, 'binance', %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(f.client_order_id, f.fill_id, f.price, f.quantity, f.fee, moment(f.ts)) for _, f in chunk],
                )
            connection.commit()
    return time.perf_counter() - started
