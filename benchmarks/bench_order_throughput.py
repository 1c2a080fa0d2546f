"""Benchmark `order_throughput`: orders and fills persisted per second with the exactly-once guarantees.

Ours: `traider.execution.batch.record_batch` with 1,000 orders (each with one fill) per transaction (group
commit), as the application role: unique client order ids and venue fill ids (ON CONFLICT), order status,
positions by the average-price rule under a row lock, quote balance, one audit event per order and per fill
appended to the hash chain (`audit.append_batch`: 2,000 chained, hashed events per transaction),
synchronous commit. After the timed runs (outside the timing) the result is checked — every fill stored once,
every order `filled`, two audit events per order, the whole chain verified by `traider.audit.chain.
verify` — or the benchmark fails. Also measured and reported in `details`: the per-order path the worker used
(`record_order` then `record_fill`, two transactions and two trigger-chained events per order).

The peer is the raw limit on the same server: the same order and fill rows inserted with one set-based
multi-row INSERT per table per batch of 1,000 (`INSERT ... SELECT FROM unnest(...)` of binary arrays, ON
CONFLICT DO NOTHING, the technique ours uses) into tables with the same unique keys (orders: `LIKE
trading.orders INCLUDING ALL`), no foreign key, no audit, no position or balance, one synchronous commit per
batch. `details` also gives the earlier peer, psycopg `executemany` (one INSERT per row, pipelined) into
tables of its own, for comparison with earlier results. Figures are orders (each with one fill) per second,
medians of TRAIDER_BENCH_REPEATS runs (default 3) of TRAIDER_BENCH_ORDERS orders (default 10,000); the sides
run interleaved. Target: ours >= 10,000 per second.
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

    from traider.db.engine import make_engine
    from traider.db.url import libpq_dsn
    from traider.execution.batch import record_batch
    from traider.execution.store import OrderContext, TradingStore

    count = int(os.environ.get(ORDERS_ENV, "10000"))
    runs = repeats(3)
    ours_runs, peer_runs, executemany_runs, single_runs = [], [], [], []
    with postgres_server() as (admin_url, _), bench_database(admin_url) as url:
        engine = make_engine(url, role="traider_app")
        store = TradingStore(engine, mode="paper", venue="binance", actor="benchmark")
        store.deposit("USDT", 1e9)
        context = OrderContext(strategy="benchmark", model_name="bench", model_version="1")
        with psycopg.connect(libpq_dsn(url), autocommit=True) as admin:
            admin.execute("CREATE SCHEMA bench")
            for suffix in ("", "_executemany"):
                admin.execute(f"CREATE TABLE bench.orders{suffix} (LIKE trading.orders INCLUDING ALL)")
                admin.execute(
                    f"CREATE TABLE bench.fills{suffix} (client_order_id text NOT NULL, venue text NOT NULL, "
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
            executemany_runs.append(count / _raw_executemany(libpq_dsn(url), pairs))
            singles = _orders(SINGLE_ORDERS, runs + number)
            started = time.perf_counter()
            for order, fill in singles:
                store.record_order(order, context)
                store.record_fill(fill, fee_currency="USDT")
            single_runs.append(SINGLE_ORDERS / (time.perf_counter() - started))
        _check(engine, orders=(count + SINGLE_ORDERS) * runs)
        engine.dispose()
    return BenchmarkResult.compare(
        name="order_throughput",
        description=__doc__.strip().splitlines()[0] if __doc__ else "",
        unit="orders/s",
        ours_runs=ours_runs,
        peer_runs=peer_runs,
        peer_name="raw set-based multi-row INSERT of the same rows, 1,000 per commit, no audit or positions",
        target=TARGET_PER_SECOND,
        target_of="ours",
        details={
            "orders_per_run": count,
            "fills_per_order": 1,
            "orders_per_transaction": BATCH,
            "per_order_path_orders_per_s": sorted(single_runs)[len(single_runs) // 2],
            "per_order_path": "record_order + record_fill: 2 transactions and 2 audit events per order",
            "peer_executemany_orders_per_s": sorted(executemany_runs)[len(executemany_runs) // 2],
            "peer_executemany": "the earlier peer: executemany, one INSERT per row (pipelined), 1,000 per commit",
            "audit_events_per_transaction": 2 * BATCH,
            "checked_after_timing": "fills once, every order filled, 2 audit events per order, the chain verifies",
        },
    )


def _check(engine: Any, *, orders: int) -> None:
    """Fail unless what was timed stored everything exactly once and the audit chain verifies."""
    from sqlalchemy import text

    from traider.audit.chain import verify

    with engine.connect() as connection:
        fills = connection.execute(text("SELECT count(*) FROM trading.fills")).scalar_one()
        statuses = dict(
            connection.execute(
                text("SELECT status, count(*) FROM trading.orders WHERE strategy = 'benchmark' GROUP BY status")
            ).all()
        )
        events = connection.execute(
            text("SELECT count(*) FROM audit.events WHERE action IN ('order.new', 'fill')")
        ).scalar_one()
        report = verify(connection)
    problems = []
    if fills != orders:
        problems.append(f"{fills} fills stored, not {orders}")
    if statuses != {"filled": orders}:
        problems.append(f"order statuses {statuses}: not every one of {orders} orders is filled")
    if events != 2 * orders:
        problems.append(f"{events} order and fill audit events, not {2 * orders}")
    if not report.ok:
        problems.append(f"the audit chain does not verify: {report.first_break}")
    if problems:
        raise RuntimeError("; ".join(problems) + ": the timing means nothing")


def _raw(dsn: str, pairs: list[Any]) -> float:
    """One set-based multi-row INSERT per table per 1,000 rows (binary arrays), one commit each; return seconds."""
    import datetime as dt

    import psycopg

    def moment(nanoseconds: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(nanoseconds / 1e9, tz=dt.UTC)

    started = time.perf_counter()
    with psycopg.connect(dsn) as connection:
        for start in range(0, len(pairs), 1_000):
            chunk = pairs[start : start + 1_000]
            connection.execute(
                "INSERT INTO bench.orders (client_order_id, mode, venue, symbol, strategy, side, order_type, "
                "quantity, filled_quantity, status) SELECT o.id, 'paper', 'binance', o.symbol, 'benchmark', o.side, "
                "'market', o.quantity, o.quantity, 'filled' FROM unnest(%b::text[], %b::text[], %b::text[], "
                "%b::float8[]) AS o(id, symbol, side, quantity) ON CONFLICT (client_order_id) DO NOTHING",
                (
                    [o.client_order_id for o, _ in chunk],
                    [o.symbol for o, _ in chunk],
                    [o.side.value for o, _ in chunk],
                    [o.quantity for o, _ in chunk],
                ),
            )
            connection.execute(
                "INSERT INTO bench.fills SELECT f.* FROM unnest(%b::text[], %b::text[], %b::text[], %b::float8[], "
                "%b::float8[], %b::float8[], %b::timestamptz[]) AS f ON CONFLICT DO NOTHING",
                (
                    [f.client_order_id for _, f in chunk],
                    ["binance"] * len(chunk),
                    [f.fill_id for _, f in chunk],
                    [f.price for _, f in chunk],
                    [f.quantity for _, f in chunk],
                    [f.fee for _, f in chunk],
                    [moment(f.ts) for _, f in chunk],
                ),
            )
            connection.commit()
    return time.perf_counter() - started


def _raw_executemany(dsn: str, pairs: list[Any]) -> float:
    """The earlier peer: executemany (one INSERT per row, pipelined), 1,000 rows per commit; return seconds."""
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
                    "INSERT INTO bench.orders_executemany (client_order_id, mode, venue, symbol, strategy, side, "
                    "order_type, quantity, filled_quantity, status) VALUES (%s, 'paper', 'binance', %s, 'benchmark', "
                    "%s, 'market', %s, %s, 'filled') ON CONFLICT (client_order_id) DO NOTHING",
                    [(o.client_order_id, o.symbol, o.side.value, o.quantity, o.quantity) for o, _ in chunk],
                )
                cursor.executemany(
                    "INSERT INTO bench.fills_executemany VALUES (%s, 'binance', %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(f.client_order_id, f.fill_id, f.price, f.quantity, f.fee, moment(f.ts)) for _, f in chunk],
                )
            connection.commit()
    return time.perf_counter() - started
