"""Group commit: many orders and their fills persisted in one transaction, exactly once.

The same guarantees as `TradingStore.record_order` + `record_fill` (+ `cancel_unfilled` for an IOC remainder)
— unique client order ids and venue fill ids (a replayed batch changes nothing and audits nothing twice),
order status, positions by the average-price rule under a row lock, quote balances, one audit event per new
order and per new fill (with the same payload fields), synchronous commit, all or nothing — with set-based
statements, so a batch of any size costs a handful of round trips:

1. the orders are inserted already closed, as the batch's fills leave them (`filled` when they cover the
   quantity, else `canceled`: market IOC), so the common case never rewrites an order row;
2. the fills are inserted, joined to their stored orders;
3. only where that presumption was wrong (a fill stored before) or an order was stored before the batch are
   order rows corrected, to exactly what booking the new fills one by one gives;
4. positions (a row lock per symbol, in symbol order) and quote balances move by the new fills;
5. last, as in `record_fill` (row locks before the chain's lock), `audit.append_batch` (migration 0008)
   appends every event in one call, chained exactly as one insert at a time would; the server builds the
   payloads from the batch's arrays.

Arrays travel in PostgreSQL's binary format: as text, quoting and parsing thousands of values cost more than
the inserts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from traider.execution.clock import utc_datetime
from traider.execution.orders import Fill, Order
from traider.execution.positions import PositionState
from traider.execution.store import OrderContext, TradingStore, quote_currency

# psycopg placeholders (`%(name)b`: binary format), run with `exec_driver_sql`.
INSERT_ORDERS = """
INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, model_name, model_version, side,
    order_type, time_in_force, quantity, filled_quantity, status, created_at, updated_at, closed_at)
SELECT o.client_order_id, %(mode)b::text, %(venue)b::text, o.symbol, %(strategy)b::text, %(model_name)b::text,
    %(model_version)b::text, o.side, 'market', 'ioc', o.quantity, LEAST(o.quantity, o.filled),
    CASE WHEN o.filled >= o.quantity * (1 - 1e-12) THEN 'filled' ELSE 'canceled' END, o.decided_at, now(), now()
FROM unnest(%(ids)b::text[], %(symbols)b::text[], %(sides)b::text[], %(quantities)b::float8[], %(filled)b::float8[],
    %(ats)b::timestamptz[]) AS o(client_order_id, symbol, side, quantity, filled, decided_at)
ON CONFLICT (client_order_id) DO NOTHING
RETURNING client_order_id
"""
INSERT_FILLS = """
INSERT INTO trading.fills (order_id, venue, venue_fill_id, symbol, side, price, quantity, fee, fee_currency,
    liquidity, filled_at)
SELECT o.id, %(venue)b::text, f.fill_id, f.symbol, f.side, f.price, f.quantity, f.fee, %(currency)b::text,
    f.liquidity, f.at
FROM unnest(%(orders)b::text[], %(fill_ids)b::text[], %(symbols)b::text[], %(sides)b::text[], %(prices)b::float8[],
    %(quantities)b::float8[], %(fees)b::float8[], %(liquidity)b::text[], %(ats)b::timestamptz[])
    WITH ORDINALITY AS f(client_order_id, fill_id, symbol, side, price, quantity, fee, liquidity, at, n)
JOIN trading.orders o ON o.client_order_id = f.client_order_id
ORDER BY f.n
ON CONFLICT (venue, venue_fill_id) DO NOTHING
RETURNING venue_fill_id
"""
# One `audit.append_batch` call for the batch: the new orders' events, then the new fills', in batch order.
AUDIT = """
SELECT audit.append_batch(%(actor)b::text, %(actions)b::text[], %(subjects)b::text[], ARRAY(
    SELECT e.payload FROM (
        SELECT 1 AS part, o.n, jsonb_build_object('mode', %(mode)b::text, 'venue', %(venue)b::text,
            'symbol', o.symbol, 'side', o.side, 'quantity', o.quantity, 'target', o.target,
            'strategy', %(strategy)b::text, 'model_name', %(model_name)b::text,
            'model_version', %(model_version)b::text, 'mlflow_run_id', %(mlflow_run_id)b::text,
            'features', %(features)b::text::jsonb) AS payload
        FROM unnest(%(order_symbols)b::text[], %(order_sides)b::text[], %(order_quantities)b::float8[],
            %(order_targets)b::float8[]) WITH ORDINALITY AS o(symbol, side, quantity, target, n)
        UNION ALL
        SELECT 2, f.n, jsonb_build_object('order', f.client_order_id, 'mode', %(mode)b::text,
            'venue', %(venue)b::text, 'symbol', f.symbol, 'side', f.side, 'price', f.price, 'quantity', f.quantity,
            'fee', f.fee, 'slippage', f.slippage, 'position', f.position)
        FROM unnest(%(fill_orders)b::text[], %(fill_symbols)b::text[], %(fill_sides)b::text[],
            %(fill_prices)b::float8[], %(fill_quantities)b::float8[], %(fill_fees)b::float8[],
            %(fill_slippages)b::float8[], %(fill_positions)b::float8[])
            WITH ORDINALITY AS f(client_order_id, symbol, side, price, quantity, fee, slippage, position, n)
    ) e ORDER BY e.part, e.n
))
"""


@dataclass(frozen=True)
class BatchResult:
    """How many orders and fills of a batch were new (the rest were stored before)."""

    orders: int
    fills: int


def record_batch(
    store: TradingStore, pairs: Sequence[tuple[Order, Fill | None]], context: OrderContext, *, fee_currency: str = "USD"
) -> BatchResult:
    """Persist orders and their fills in one transaction; return what was new.

    An order or fill repeated within the batch counts once (the first one); a fill naming an order that is
    neither in the batch nor stored is left out.
    """
    if not pairs:
        return BatchResult(0, 0)
    first_orders: dict[str, Order] = {}
    first_fills: dict[str, Fill] = {}
    for order, fill in pairs:
        first_orders.setdefault(order.client_order_id, order)
        if fill is not None:
            first_fills.setdefault(fill.fill_id, fill)
    orders, fills = list(first_orders.values()), list(first_fills.values())
    presumed: dict[str, float] = {}
    for fill in fills:
        presumed[fill.client_order_id] = presumed.get(fill.client_order_id, 0.0) + fill.quantity
    keys = {"mode": store.mode, "venue": store.venue}
    with store.engine.begin() as connection:
        connection.execute(text("SET LOCAL synchronous_commit = on"))
        new_orders = _returned(connection, INSERT_ORDERS, {
            **keys, "strategy": context.strategy, "model_name": context.model_name,
            "model_version": context.model_version, "ids": [o.client_order_id for o in orders],
            "symbols": [o.symbol for o in orders], "sides": [o.side.value for o in orders],
            "quantities": [float(o.quantity) for o in orders],
            "filled": [presumed.get(o.client_order_id, 0.0) for o in orders],
            "ats": [utc_datetime(o.decided_at) for o in orders],
        })  # fmt: skip
        fresh = _returned(connection, INSERT_FILLS, {
            **keys, "currency": fee_currency, "orders": [f.client_order_id for f in fills],
            "fill_ids": [f.fill_id for f in fills], "symbols": [f.symbol for f in fills],
            "sides": [f.side.value for f in fills], "prices": [float(f.price) for f in fills],
            "quantities": [float(f.quantity) for f in fills], "fees": [float(f.fee) for f in fills],
            "liquidity": [f.liquidity for f in fills], "ats": [utc_datetime(f.ts) for f in fills],
        }) if fills else set()  # fmt: skip
        booked = [fill for fill in fills if fill.fill_id in fresh]
        _correct_orders(connection, orders, fills, booked, new_orders)
        positions = _move_positions_and_cash(connection, store, booked)
        # last, as in `record_fill`: row locks (orders, positions, balances) come before the audit chain's lock
        _audit(connection, store, context, [o for o in orders if o.client_order_id in new_orders], booked, positions)
    return BatchResult(len(new_orders), len(booked))


def _returned(connection: Connection, statement: str, parameters: Mapping[str, Any]) -> set[str]:
    return set(connection.exec_driver_sql(statement, dict(parameters)).scalars())


def _audit(
    connection: Connection,
    store: TradingStore,
    context: OrderContext,
    orders: Sequence[Order],
    booked: Sequence[Fill],
    positions: Sequence[float],
) -> None:
    if not orders and not booked:
        return
    connection.exec_driver_sql(AUDIT, {
        "actor": store.actor, "mode": store.mode, "venue": store.venue, "strategy": context.strategy,
        "model_name": context.model_name, "model_version": context.model_version,
        "mlflow_run_id": context.mlflow_run_id,
        "features": json.dumps(dict(context.features or {}), sort_keys=True, default=str),
        "actions": ["order.new"] * len(orders) + ["fill"] * len(booked),
        "subjects": [o.client_order_id for o in orders] + [f.fill_id for f in booked],
        "order_symbols": [o.symbol for o in orders],
        "order_sides": [o.side.value for o in orders], "order_quantities": [float(o.quantity) for o in orders],
        "order_targets": [float(o.target) for o in orders], "fill_orders": [f.client_order_id for f in booked],
        "fill_symbols": [f.symbol for f in booked],
        "fill_sides": [f.side.value for f in booked], "fill_prices": [float(f.price) for f in booked],
        "fill_quantities": [float(f.quantity) for f in booked], "fill_fees": [float(f.fee) for f in booked],
        "fill_slippages": [float(f.slippage) for f in booked], "fill_positions": list(positions),
    })  # fmt: skip


def _correct_orders(
    connection: Connection, orders: Sequence[Order], fills: Sequence[Fill], booked: Sequence[Fill], new: set[str]
) -> None:
    """Bring order rows to what booking exactly the new fills gives, where the presumption was wrong."""
    filled: dict[str, float] = {}
    for fill in booked:
        filled[fill.client_order_id] = filled.get(fill.client_order_id, 0.0) + fill.quantity
    booked_ids = {fill.fill_id for fill in booked}
    # a new order was inserted as if all of the batch's fills for it were new: set it from those that were
    mispresumed = sorted({fill.client_order_id for fill in fills if fill.fill_id not in booked_ids} & new)
    if mispresumed:
        connection.execute(
            text(
                "UPDATE trading.orders o SET filled_quantity = LEAST(o.quantity, f.quantity), "
                "status = CASE WHEN f.quantity >= o.quantity * (1 - 1e-12) THEN 'filled' ELSE 'canceled' END, "
                "updated_at = now(), closed_at = now() "
                "FROM unnest(CAST(:ids AS text[]), CAST(:quantities AS float8[])) AS f(id, quantity) "
                "WHERE o.client_order_id = f.id"
            ),
            {"ids": mispresumed, "quantities": [filled.get(name, 0.0) for name in mispresumed]},
        )
    # orders stored before this batch: new fills add to what they had; without one, a still new order is closed
    earlier = sorted(name for name in filled if name not in new)
    if earlier:
        connection.execute(
            text(
                "UPDATE trading.orders o SET filled_quantity = LEAST(o.quantity, o.filled_quantity + f.quantity), "
                "status = CASE WHEN o.filled_quantity + f.quantity >= o.quantity * (1 - 1e-12) THEN 'filled' "
                "ELSE 'canceled' END, updated_at = now(), closed_at = now() "
                "FROM unnest(CAST(:ids AS text[]), CAST(:quantities AS float8[])) AS f(id, quantity) "
                "WHERE o.client_order_id = f.id"
            ),
            {"ids": earlier, "quantities": [filled[name] for name in earlier]},
        )
    unfilled = sorted(
        o.client_order_id for o in orders if o.client_order_id not in new and o.client_order_id not in filled
    )
    if unfilled:
        connection.execute(
            text(
                "UPDATE trading.orders SET status = 'canceled', updated_at = now(), closed_at = now() "
                "WHERE client_order_id = ANY(CAST(:ids AS text[])) AND status = 'new' AND filled_quantity = 0"
            ),
            {"ids": unfilled},
        )


def _move_positions_and_cash(connection: Connection, store: TradingStore, booked: Sequence[Fill]) -> list[float]:
    """Move positions (one row lock per symbol, in symbol order) and quote balances; return each fill's position."""
    keys = {"mode": store.mode, "venue": store.venue}
    after: dict[str, float] = {}
    cash: dict[str, float] = {}
    for symbol in sorted({fill.symbol for fill in booked}):
        connection.execute(
            text(
                "INSERT INTO trading.positions (mode, venue, symbol, quantity) VALUES (:mode, :venue, :symbol, 0) "
                "ON CONFLICT DO NOTHING"
            ),
            {**keys, "symbol": symbol},
        )
        row = connection.execute(
            text(
                "SELECT quantity, average_entry_price, realised_pnl FROM trading.positions "
                "WHERE mode = :mode AND venue = :venue AND symbol = :symbol FOR UPDATE"
            ),
            {**keys, "symbol": symbol},
        ).one()
        state = PositionState(
            float(row.quantity),
            None if row.average_entry_price is None else float(row.average_entry_price),
            float(row.realised_pnl),
        )
        currency = quote_currency(symbol)
        for fill in (fill for fill in booked if fill.symbol == symbol):
            state = state.after_fill(fill.signed_quantity, fill.price)
            after[fill.fill_id] = state.quantity
            cash[currency] = cash.get(currency, 0.0) - (fill.signed_quantity * fill.price + fill.fee)
        connection.execute(
            text(
                "UPDATE trading.positions SET quantity = :quantity, average_entry_price = :entry, "
                "realised_pnl = :realised, updated_at = now() "
                "WHERE mode = :mode AND venue = :venue AND symbol = :symbol"
            ),
            {
                **keys,
                "symbol": symbol,
                "quantity": state.quantity,
                "entry": state.average_entry_price,
                "realised": state.realised_pnl,
            },
        )
    for currency in sorted(cash):
        connection.execute(
            text(
                "INSERT INTO trading.balances (mode, venue, asset, total, available) VALUES (:mode, :venue, :asset, "
                ":amount, :amount) ON CONFLICT (mode, venue, asset) DO UPDATE SET total = trading.balances.total + "
                "EXCLUDED.total, available = trading.balances.available + EXCLUDED.available, updated_at = now()"
            ),
            {**keys, "asset": currency, "amount": cash[currency]},
        )
    return [after[fill.fill_id] for fill in booked]
