"""Group commit: many orders and their fills persisted in one transaction, exactly once.

The same guarantees as `TradingStore.record_order` + `record_fill` — unique client order ids and venue fill
ids (a replayed batch changes nothing), order status, positions by the average-price rule, quote balances,
one audit event per new order and per new fill, synchronous commit — with set-based statements, so a batch
costs a handful of round trips instead of several per order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from traider.execution.clock import utc_datetime
from traider.execution.orders import Fill, Order
from traider.execution.positions import PositionState
from traider.execution.store import OrderContext, TradingStore, quote_currency

INSERT_ORDERS = (
    "INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, model_name, model_version, side, "
    "order_type, time_in_force, quantity, status, created_at, updated_at) "
    "SELECT o.id, :mode, :venue, o.symbol, :strategy, :model_name, :model_version, o.side, 'market', 'ioc', "
    "o.quantity, 'new', o.at, o.at FROM unnest(CAST(:ids AS text[]), CAST(:symbols AS text[]), "
    "CAST(:sides AS text[]), CAST(:quantities AS float8[]), CAST(:ats AS timestamptz[])) "
    "AS o(id, symbol, side, quantity, at) ON CONFLICT (client_order_id) DO NOTHING RETURNING client_order_id"
)
INSERT_FILLS = (
    "INSERT INTO trading.fills (order_id, venue, venue_fill_id, symbol, side, price, quantity, fee, fee_currency, "
    "liquidity, filled_at) SELECT o.id, :venue, f.fill_id, f.symbol, f.side, f.price, f.quantity, f.fee, :currency, "
    "f.liquidity, f.at FROM unnest(CAST(:orders AS text[]), CAST(:fill_ids AS text[]), CAST(:symbols AS text[]), "
    "CAST(:sides AS text[]), CAST(:prices AS float8[]), CAST(:quantities AS float8[]), CAST(:fees AS float8[]), "
    "CAST(:liquidity AS text[]), CAST(:ats AS timestamptz[])) "
    "AS f(order_id, fill_id, symbol, side, price, quantity, fee, liquidity, at) "
    "JOIN trading.orders o ON o.client_order_id = f.order_id "
    "ON CONFLICT (venue, venue_fill_id) DO NOTHING RETURNING venue_fill_id"
)


@dataclass(frozen=True)
class BatchResult:
    """How many orders and fills of a batch were new (the rest were stored before)."""

    orders: int
    fills: int


def record_batch(
    store: TradingStore, pairs: Sequence[tuple[Order, Fill | None]], context: OrderContext, *, fee_currency: str = "USD"
) -> BatchResult:
    """Persist orders and their (single) fills in one transaction; return what was new."""
    if not pairs:
        return BatchResult(0, 0)
    orders = [order for order, _ in pairs]
    fills = [fill for _, fill in pairs if fill is not None]
    with store.engine.begin() as connection:
        connection.execute(text("SET LOCAL synchronous_commit = on"))
        new_orders: list[str] = list(connection.execute(text(INSERT_ORDERS), {
            "mode": store.mode, "venue": store.venue, "strategy": context.strategy,
            "model_name": context.model_name, "model_version": context.model_version,
            "ids": [o.client_order_id for o in orders], "symbols": [o.symbol for o in orders],
            "sides": [o.side.value for o in orders], "quantities": [o.quantity for o in orders],
            "ats": [utc_datetime(o.decided_at) for o in orders],
        }).scalars())  # fmt: skip
        new_fill_ids: list[str] = list(connection.execute(text(INSERT_FILLS), {
            "venue": store.venue, "currency": fee_currency, "orders": [f.client_order_id for f in fills],
            "fill_ids": [f.fill_id for f in fills], "symbols": [f.symbol for f in fills],
            "sides": [f.side.value for f in fills], "prices": [f.price for f in fills],
            "quantities": [f.quantity for f in fills], "fees": [f.fee for f in fills],
            "liquidity": [f.liquidity for f in fills], "ats": [utc_datetime(f.ts) for f in fills],
        }).scalars())  # fmt: skip
        fresh = set(new_fill_ids)
        booked = [fill for fill in fills if fill.fill_id in fresh]
        _close_orders(connection, orders, booked)
        _move_positions_and_cash(connection, store, booked)
        _audit(connection, store, context, [o for o in orders if o.client_order_id in set(new_orders)], booked)
    return BatchResult(len(new_orders), len(booked))


def _close_orders(connection: Connection, orders: Sequence[Order], booked: Sequence[Fill]) -> None:
    filled = {fill.client_order_id: fill.quantity for fill in booked}
    quantities = {order.client_order_id: order.quantity for order in orders}
    ids = list(filled)
    if ids:
        connection.execute(
            text(
                "UPDATE trading.orders o SET filled_quantity = LEAST(o.quantity, o.filled_quantity + f.quantity), "
                "status = CASE WHEN o.filled_quantity + f.quantity >= o.quantity * (1 - 1e-12) THEN 'filled' "
                "ELSE 'canceled' END, updated_at = now(), closed_at = now() "
                "FROM unnest(CAST(:ids AS text[]), CAST(:quantities AS float8[])) AS f(id, quantity) "
                "WHERE o.client_order_id = f.id"
            ),
            {"ids": ids, "quantities": [filled[name] for name in ids]},
        )
    unfilled = [name for name in quantities if name not in filled]
    if unfilled:
        connection.execute(
            text(
                "UPDATE trading.orders SET status = 'canceled', updated_at = now(), closed_at = now() "
                "WHERE client_order_id = ANY(CAST(:ids AS text[])) AND status = 'new' AND filled_quantity = 0"
            ),
            {"ids": unfilled},
        )


def _move_positions_and_cash(connection: Connection, store: TradingStore, booked: Sequence[Fill]) -> None:
    keys = {"mode": store.mode, "venue": store.venue}
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
        for fill in (fill for fill in booked if fill.symbol == symbol):
            state = state.after_fill(fill.signed_quantity, fill.price)
            currency = quote_currency(symbol)
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
    for currency, amount in cash.items():
        connection.execute(
            text(
                "INSERT INTO trading.balances (mode, venue, asset, total, available) VALUES (:mode, :venue, :asset, "
                ":amount, :amount) ON CONFLICT (mode, venue, asset) DO UPDATE SET total = trading.balances.total + "
                "EXCLUDED.total, available = trading.balances.available + EXCLUDED.available, updated_at = now()"
            ),
            {**keys, "asset": currency, "amount": amount},
        )


def _audit(
    connection: Connection, store: TradingStore, context: OrderContext, orders: Sequence[Order], booked: Sequence[Fill]
) -> None:
    actions, subjects, payloads = [], [], []
    for order in orders:
        actions.append("order.new")
        subjects.append(order.client_order_id)
        payloads.append(
            {
                "mode": store.mode,
                "venue": store.venue,
                "symbol": order.symbol,
                "side": order.side.value,
                "quantity": order.quantity,
                "target": order.target,
                "strategy": context.strategy,
                "model_name": context.model_name,
                "model_version": context.model_version,
                "mlflow_run_id": context.mlflow_run_id,
                "features": dict(context.features or {}),
            }
        )
    for fill in booked:
        actions.append("fill")
        subjects.append(fill.fill_id)
        payloads.append(
            {
                "order": fill.client_order_id,
                "mode": store.mode,
                "venue": store.venue,
                "symbol": fill.symbol,
                "side": fill.side.value,
                "price": fill.price,
                "quantity": fill.quantity,
                "fee": fill.fee,
                "slippage": fill.slippage,
            }
        )
    if actions:
        connection.execute(
            text(
                "INSERT INTO audit.events (actor, action, subject, payload) SELECT :actor, a.action, a.subject, "
                "CAST(a.payload AS jsonb) FROM unnest(CAST(:actions AS text[]), CAST(:subjects AS text[]), "
                "CAST(:payloads AS text[])) WITH ORDINALITY AS a(action, subject, payload, n) ORDER BY a.n"
            ),
            {
                "actor": store.actor,
                "actions": actions,
                "subjects": subjects,
                "payloads": [json.dumps(payload, sort_keys=True, default=str) for payload in payloads],
            },
        )
