"""Orders, fills and positions in PostgreSQL, exactly once.

- An order is keyed by its deterministic client order id: recording it again changes nothing.
- A fill is keyed by (venue, venue fill id): recording it again changes nothing; otherwise, in one
  transaction with synchronous commit, the fill is inserted, its order's filled quantity and status move,
  the position is updated under a row lock (average price, realised P&L), and an audit event is appended.
  A crash at any point leaves either all of it or none of it.
- Every state change is appended to the audit chain with the model version and the feature snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from traider.audit.chain import append
from traider.execution.clock import epoch_nanoseconds, utc_datetime
from traider.execution.orders import Fill, Order
from traider.execution.positions import PositionState


@dataclass(frozen=True)
class OrderContext:
    """What produced an order, recorded with it and in its audit event."""

    strategy: str
    model_name: str | None = None
    model_version: str | None = None
    mlflow_run_id: str | None = None
    features: Mapping[str, float] | None = None


class TradingStore:
    """The worker's (and the paper broker's) ledger in the `trading` schema, for one mode and venue."""

    def __init__(self, engine: Engine, *, mode: str, venue: str, actor: str = "worker") -> None:
        self.engine, self.mode, self.venue, self.actor = engine, mode, venue, actor

    def record_order(self, order: Order, context: OrderContext, *, status: str = "new") -> bool:
        """Insert `order` unless its client order id is stored; return whether it was new."""
        with self.engine.begin() as connection:
            _synchronous(connection)
            inserted = connection.execute(
                text(
                    "INSERT INTO trading.orders (client_order_id, mode, venue, symbol, strategy, model_name, "
                    "model_version, side, order_type, time_in_force, quantity, status, created_at, updated_at) "
                    "VALUES (:id, :mode, :venue, :symbol, :strategy, :model_name, :model_version, :side, 'market', "
                    "'ioc', :quantity, :status, :at, :at) ON CONFLICT (client_order_id) DO NOTHING RETURNING id"
                ),
                {
                    "id": order.client_order_id,
                    "mode": self.mode,
                    "venue": self.venue,
                    "symbol": order.symbol,
                    "strategy": context.strategy,
                    "model_name": context.model_name,
                    "model_version": context.model_version,
                    "side": order.side.value,
                    "quantity": order.quantity,
                    "status": status,
                    "at": utc_datetime(order.decided_at),
                },
            ).first()
            if inserted is None:
                return False
            append(
                connection,
                actor=self.actor,
                action="order.new",
                subject=order.client_order_id,
                payload={
                    "mode": self.mode,
                    "venue": self.venue,
                    "symbol": order.symbol,
                    "side": order.side.value,
                    "quantity": order.quantity,
                    "target": order.target,
                    "strategy": context.strategy,
                    "model_name": context.model_name,
                    "model_version": context.model_version,
                    "mlflow_run_id": context.mlflow_run_id,
                    "features": dict(context.features or {}),
                },
            )
            return True

    def record_fill(self, fill: Fill, *, fee_currency: str = "USD") -> bool:
        """Book `fill` exactly once (order, position, audit in one transaction); return whether it was new."""
        with self.engine.begin() as connection:
            _synchronous(connection)
            order = connection.execute(
                text("SELECT id, quantity, filled_quantity FROM trading.orders WHERE client_order_id = :id FOR UPDATE"),
                {"id": fill.client_order_id},
            ).first()
            if order is None:
                raise LookupError(
                    f"fill {fill.fill_id} names unknown order {fill.client_order_id}: record the order first"
                )
            inserted = connection.execute(
                text(
                    "INSERT INTO trading.fills (order_id, venue, venue_fill_id, symbol, side, price, quantity, fee, "
                    "fee_currency, liquidity, filled_at) VALUES (:order_id, :venue, :fill_id, :symbol, :side, :price, "
                    ":quantity, :fee, :currency, :liquidity, :at) ON CONFLICT (venue, venue_fill_id) DO NOTHING "
                    "RETURNING id"
                ),
                {
                    "order_id": order.id,
                    "venue": self.venue,
                    "fill_id": fill.fill_id,
                    "symbol": fill.symbol,
                    "side": fill.side.value,
                    "price": fill.price,
                    "quantity": fill.quantity,
                    "fee": fill.fee,
                    "currency": fee_currency,
                    "liquidity": fill.liquidity,
                    "at": utc_datetime(fill.ts),
                },
            ).first()
            if inserted is None:
                return False
            filled = float(order.filled_quantity) + fill.quantity
            status = "filled" if filled >= float(order.quantity) * (1 - 1e-12) else "partially_filled"
            connection.execute(
                text(
                    "UPDATE trading.orders SET filled_quantity = LEAST(quantity, filled_quantity + :quantity), "
                    "status = :status, updated_at = :at, closed_at = CASE WHEN :status = 'filled' THEN :at END "
                    "WHERE id = :id"
                ),
                {"quantity": fill.quantity, "status": status, "at": utc_datetime(fill.ts), "id": order.id},
            )
            position = self._update_position(connection, fill)
            self._move_cash(connection, quote_currency(fill.symbol), -(fill.signed_quantity * fill.price + fill.fee))
            append(
                connection,
                actor=self.actor,
                action="fill",
                subject=fill.fill_id,
                payload={
                    "order": fill.client_order_id,
                    "mode": self.mode,
                    "venue": self.venue,
                    "symbol": fill.symbol,
                    "side": fill.side.value,
                    "price": fill.price,
                    "quantity": fill.quantity,
                    "fee": fill.fee,
                    "slippage": fill.slippage,
                    "position": position.quantity,
                },
            )
            return True

    def cancel_unfilled(self, client_order_id: str, reason: str) -> None:
        """Close what is left of an order (IOC remainder, or cancelled by the kill switch), audited."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                text(
                    "UPDATE trading.orders SET status = 'canceled', updated_at = now(), closed_at = now() "
                    "WHERE client_order_id = :id AND status IN ('new', 'open', 'partially_filled') RETURNING id"
                ),
                {"id": client_order_id},
            ).first()
            if changed is not None:
                append(
                    connection,
                    actor=self.actor,
                    action="order.cancel",
                    subject=client_order_id,
                    payload={"reason": reason},
                )

    def deposit(self, asset: str, amount: float) -> None:
        """Credit `amount` of `asset` (the paper account's starting cash), audited."""
        with self.engine.begin() as connection:
            self._move_cash(connection, asset, amount)
            append(
                connection,
                actor=self.actor,
                action="balance.deposit",
                subject=asset,
                payload={"mode": self.mode, "venue": self.venue, "amount": amount},
            )

    def cash(self, asset: str) -> float | None:
        """Return the balance of `asset`, or None when the account has never held it."""
        with self.engine.connect() as connection:
            value = connection.execute(
                text("SELECT total FROM trading.balances WHERE mode = :mode AND venue = :venue AND asset = :asset"),
                {"mode": self.mode, "venue": self.venue, "asset": asset},
            ).scalar()
        return None if value is None else float(value)

    def save_state(self, symbol: str, last_bar: int, target: float, model_version: str | None) -> None:
        """Remember the last bar finished for `symbol` and the target traded (for a restart)."""
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO trading.worker_state (mode, venue, symbol, last_bar, target, model_version) "
                    "VALUES (:mode, :venue, :symbol, :bar, :target, :version) ON CONFLICT (mode, venue, symbol) "
                    "DO UPDATE SET last_bar = EXCLUDED.last_bar, target = EXCLUDED.target, "
                    "model_version = EXCLUDED.model_version, updated_at = now()"
                ),
                {
                    "mode": self.mode,
                    "venue": self.venue,
                    "symbol": symbol,
                    "bar": utc_datetime(last_bar),
                    "target": target,
                    "version": model_version,
                },
            )

    def load_state(self, symbol: str) -> tuple[int, float] | None:
        """Return (last bar open time in ns, target traded) saved for `symbol`, or None on a first start."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT last_bar, target FROM trading.worker_state "
                    "WHERE mode = :mode AND venue = :venue AND symbol = :symbol"
                ),
                {"mode": self.mode, "venue": self.venue, "symbol": symbol},
            ).first()
        if row is None:
            return None
        return epoch_nanoseconds(row.last_bar), float(row.target)

    def order_state(self, client_order_id: str) -> tuple[str, float] | None:
        """Return (status, filled quantity) of a stored order, or None when it is not stored."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text("SELECT status, filled_quantity FROM trading.orders WHERE client_order_id = :id"),
                {"id": client_order_id},
            ).first()
        return None if row is None else (str(row.status), float(row.filled_quantity))

    def positions(self) -> dict[str, PositionState]:
        """Return every stored position of this mode and venue."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT symbol, quantity, average_entry_price, realised_pnl FROM trading.positions "
                    "WHERE mode = :mode AND venue = :venue"
                ),
                {"mode": self.mode, "venue": self.venue},
            ).all()
        return {row.symbol: _position(row) for row in rows}

    def _update_position(self, connection: Connection, fill: Fill) -> PositionState:
        keys = {"mode": self.mode, "venue": self.venue, "symbol": fill.symbol}
        connection.execute(
            text(
                "INSERT INTO trading.positions (mode, venue, symbol, quantity) VALUES (:mode, :venue, :symbol, 0) "
                "ON CONFLICT DO NOTHING"
            ),
            keys,
        )
        row = connection.execute(
            text(
                "SELECT quantity, average_entry_price, realised_pnl FROM trading.positions "
                "WHERE mode = :mode AND venue = :venue AND symbol = :symbol FOR UPDATE"
            ),
            keys,
        ).one()
        state = _position(row).after_fill(fill.signed_quantity, fill.price)
        connection.execute(
            text(
                "UPDATE trading.positions SET quantity = :quantity, average_entry_price = :entry, "
                "realised_pnl = :realised, updated_at = now() "
                "WHERE mode = :mode AND venue = :venue AND symbol = :symbol"
            ),
            {**keys, "quantity": state.quantity, "entry": state.average_entry_price, "realised": state.realised_pnl},
        )
        return state

    def _move_cash(self, connection: Connection, asset: str, amount: float) -> None:
        connection.execute(
            text(
                "INSERT INTO trading.balances (mode, venue, asset, total, available) "
                "VALUES (:mode, :venue, :asset, :amount, :amount) ON CONFLICT (mode, venue, asset) DO UPDATE SET "
                "total = trading.balances.total + EXCLUDED.total, "
                "available = trading.balances.available + EXCLUDED.available, updated_at = now()"
            ),
            {"mode": self.mode, "venue": self.venue, "asset": asset, "amount": amount},
        )


def quote_currency(symbol: str) -> str:
    """Return the currency a symbol is priced and settled in: BTC/USD → USD, BTC/USDT:USDT → USDT."""
    base_quote, _, settle = symbol.partition(":")
    return settle or base_quote.partition("/")[2] or "USD"


def _position(row: Any) -> PositionState:
    entry = None if row.average_entry_price is None else float(row.average_entry_price)
    return PositionState(float(row.quantity), entry, float(row.realised_pnl))


def _synchronous(connection: Connection) -> None:
    connection.execute(text("SET LOCAL synchronous_commit = on"))
