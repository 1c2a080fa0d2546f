"""Before a worker trades: does the stored ledger add up, and does it agree with the venue?

- Paper (`reconcile_ledger`): the paper broker's ledger is the store itself, so each position must equal the
  signed sum of its fills and no order may hold more fills than its quantity.
- Live (`reconcile_with_venue`): first every order stored but never settled (the worker died after storing it,
  maybe after sending it) is settled through the broker, which looks the client order id up at the venue before
  sending anything, so it is filled at most once and its fill is booked; then the venue's open orders, its fills
  of the symbol since the oldest recent order, and the stored fills are compared order by order.

Each returns the problems found (empty: it reconciles). The worker refuses to trade and raises an alert on any.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text

from traider.backtest.costs.fills import Side
from traider.execution.clock import epoch_nanoseconds
from traider.execution.orders import Fill, Order

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Engine

    from traider.execution.ccxt_broker import Reconciliation
    from traider.execution.store import TradingStore

RECENT_ORDERS = 500  # stored orders compared with the venue on start
TOLERANCE = 1e-9


class VenueBroker(Protocol):
    """What live reconciliation needs of a broker (`CcxtBroker`)."""

    def execute(self, order: Order, reference_price: float, ts: int, book: object = None) -> Fill | None:
        """Send `order` at most once (looked up by client order id first); return its fill, None if none."""
        ...

    def reconcile(self, symbols: Iterable[str], since: int, *, client_order_ids: Iterable[str] = ()) -> Reconciliation:
        """Return the venue's open orders, fills since `since` (ns) and balances."""
        ...


def reconcile_ledger(engine: Engine, mode: str, venue: str) -> list[str]:
    """Return what does not add up in the stored ledger of one account (positions against fills, overfills)."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "WITH filled AS (SELECT f.symbol, sum(CASE f.side WHEN 'buy' THEN f.quantity ELSE -f.quantity END) "
                "AS quantity FROM trading.fills f JOIN trading.orders o ON o.id = f.order_id "
                "WHERE o.mode = :mode AND o.venue = :venue GROUP BY f.symbol) "
                "SELECT coalesce(p.symbol, f.symbol) AS symbol, coalesce(p.quantity, 0) AS held, "
                "coalesce(f.quantity, 0) AS filled FROM (SELECT symbol, quantity FROM trading.positions "
                "WHERE mode = :mode AND venue = :venue) p FULL JOIN filled f ON f.symbol = p.symbol"
            ),
            {"mode": mode, "venue": venue},
        ).all()
        overfilled: list[str] = list(
            connection.execute(
                text(
                    "SELECT o.client_order_id FROM trading.orders o JOIN trading.fills f ON f.order_id = o.id "
                    "WHERE o.mode = :mode AND o.venue = :venue GROUP BY o.id, o.client_order_id, o.quantity "
                    "HAVING sum(f.quantity) > o.quantity * (1 + 1e-9) LIMIT 5"
                ),
                {"mode": mode, "venue": venue},
            ).scalars()
        )
    problems = [
        f"{row.symbol} position {float(row.held):.12g} but fills sum to {float(row.filled):.12g}"
        for row in rows
        if abs(float(row.held) - float(row.filled)) > TOLERANCE * max(1.0, abs(float(row.filled)))
    ]
    problems += [f"order {order_id} has more fills than its quantity" for order_id in overfilled]
    return problems


def reconcile_with_venue(store: TradingStore, broker: VenueBroker, symbol: str, fee_currency: str) -> list[str]:
    """Settle orders left unsettled, then compare the store with the venue; return the problems found."""
    _settle_unsettled(store, broker, symbol, fee_currency)
    problems = reconcile_ledger(store.engine, store.mode, store.venue)
    stored = _recent_orders(store, symbol)
    if not stored:
        return problems
    since = min(created for _, _, created in stored)
    report = broker.reconcile([symbol], since, client_order_ids=[order_id for order_id, _, _ in stored])
    problems += [
        f"the venue holds open order {order.client_order_id} ({order.side.value} {order.quantity:g} {order.symbol})"
        for order in report.open_orders
    ]
    venue_filled: dict[str, float] = defaultdict(float)
    for fill in report.fills:
        venue_filled[fill.client_order_id] += fill.quantity
    known = {order_id for order_id, _, _ in stored}
    for order_id, filled, _ in stored:
        at_venue = venue_filled.get(order_id, 0.0)
        if abs(at_venue - filled) > TOLERANCE * max(1.0, abs(filled)):
            problems.append(f"order {order_id}: venue filled {at_venue:.12g}, the store {filled:.12g}")
    problems += [
        f"the venue filled {quantity:.12g} of order {order_id}, which the store does not hold"
        for order_id, quantity in venue_filled.items()
        if order_id not in known
    ]
    return problems


def _settle_unsettled(store: TradingStore, broker: VenueBroker, symbol: str, fee_currency: str) -> None:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT client_order_id, side, quantity, created_at FROM trading.orders WHERE mode = :mode "
                "AND venue = :venue AND symbol = :symbol AND status = 'new' AND filled_quantity = 0 ORDER BY id"
            ),
            {"mode": store.mode, "venue": store.venue, "symbol": symbol},
        ).all()
    for row in rows:
        decided = epoch_nanoseconds(row.created_at)
        order = Order(row.client_order_id, symbol, Side(row.side), float(row.quantity), decided, 0.0)
        fill = broker.execute(order, 0.0, decided)
        if fill is not None:
            store.record_fill(fill, fee_currency=fee_currency)
        if fill is None or fill.quantity < order.quantity:
            store.cancel_unfilled(order.client_order_id, "settled on restart: the venue filled no more")


def _recent_orders(store: TradingStore, symbol: str) -> list[tuple[str, float, int]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT client_order_id, filled_quantity, created_at FROM trading.orders WHERE mode = :mode "
                "AND venue = :venue AND symbol = :symbol ORDER BY id DESC LIMIT :limit"
            ),
            {"mode": store.mode, "venue": store.venue, "symbol": symbol, "limit": RECENT_ORDERS},
        ).all()
    return [(row.client_order_id, float(row.filled_quantity), epoch_nanoseconds(row.created_at)) for row in rows]
