from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from traider.audit.chain import verify
from traider.backtest.costs.fills import Side
from traider.execution.orders import Fill, Order
from traider.execution.positions import PositionState
from traider.execution.store import OrderContext, TradingStore

CONTEXT = OrderContext(strategy="model", model_name="xgb_direction_btc", model_version="3", features={"rsi_14": 41.5})
T0 = 1_700_000_000_000_000_000


def _order(number: int = 1, side: Side = Side.BUY, quantity: float = 2.0) -> Order:
    return Order(f"paper-BTC/USD-{number}", "BTC/USD", side, quantity, T0 + number, 1.0)


def _fill(order: Order, part: int, quantity: float, price: float) -> Fill:
    return Fill(order.client_order_id, f"{order.client_order_id}-{part}", order.symbol, order.side, quantity, price,
                quantity * price * 0.001, 0.0, "taker", order.decided_at + part)  # fmt: skip


@pytest.fixture
def store(clean_tables: Engine, app_engine: Engine) -> TradingStore:
    return TradingStore(app_engine, mode="paper", venue="binance")


def test_orders_and_fills_are_stored_exactly_once(store: TradingStore, admin_engine: Engine) -> None:
    order = _order()
    assert store.record_order(order, CONTEXT)
    assert not store.record_order(order, CONTEXT)
    first, second = _fill(order, 1, 0.5, 100.0), _fill(order, 2, 1.5, 102.0)
    assert store.record_fill(first)
    assert not store.record_fill(first)
    assert store.record_fill(second)
    with admin_engine.connect() as connection:
        row = connection.execute(text("SELECT status, filled_quantity, model_version FROM trading.orders")).one()
        fills = connection.execute(text("SELECT count(*) FROM trading.fills")).scalar_one()
        actions = connection.execute(text("SELECT action FROM audit.events ORDER BY seq")).scalars().all()
        assert verify(connection).ok
    assert (row.status, float(row.filled_quantity), row.model_version) == ("filled", 2.0, "3")
    assert fills == 2
    assert actions[-3:] == ["order.new", "fill", "fill"]
    position = store.positions()["BTC/USD"]
    assert position.quantity == 2.0
    assert position.average_entry_price == pytest.approx((0.5 * 100.0 + 1.5 * 102.0) / 2.0)


def test_positions_equal_the_sum_of_fills(store: TradingStore) -> None:
    buy, sell = _order(1, Side.BUY, 3.0), _order(2, Side.SELL, 5.0)
    for order in (buy, sell):
        store.record_order(order, CONTEXT)
    store.record_fill(_fill(buy, 1, 3.0, 100.0))
    store.record_fill(_fill(sell, 1, 5.0, 110.0))
    position = store.positions()["BTC/USD"]
    assert position.quantity == pytest.approx(-2.0)
    assert position.realised_pnl == pytest.approx(30.0)
    assert position.average_entry_price == 110.0


def test_a_fill_for_an_unknown_order_is_refused_and_leaves_nothing(store: TradingStore, admin_engine: Engine) -> None:
    with pytest.raises(LookupError, match="record the order first"):
        store.record_fill(_fill(_order(9), 1, 1.0, 100.0))
    with admin_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM trading.fills")).scalar_one() == 0


def test_cancelling_the_rest_of_an_order_is_audited_once(store: TradingStore, admin_engine: Engine) -> None:
    order = _order()
    with admin_engine.connect() as connection:  # the chain is append-only: other tests' events stay in it
        before = connection.execute(text("SELECT coalesce(max(seq), 0) FROM audit.events")).scalar_one()
    store.record_order(order, CONTEXT)
    store.record_fill(_fill(order, 1, 0.5, 100.0))
    store.cancel_unfilled(order.client_order_id, "IOC remainder")
    store.cancel_unfilled(order.client_order_id, "IOC remainder")
    with admin_engine.connect() as connection:
        status = connection.execute(text("SELECT status FROM trading.orders")).scalar_one()
        cancels = connection.execute(
            text("SELECT count(*) FROM audit.events WHERE action = 'order.cancel' AND seq > :before"),
            {"before": before},
        ).scalar_one()
    assert (status, cancels) == ("canceled", 1)


def test_fills_move_the_quote_balance_by_notional_and_fee(store: TradingStore) -> None:
    store.deposit("USD", 10_000.0)
    order = _order(quantity=2.0)
    store.record_order(order, CONTEXT)
    store.record_fill(_fill(order, 1, 2.0, 100.0))
    assert store.cash("USD") == pytest.approx(10_000.0 - 200.0 - 0.2)
    assert store.cash("EUR") is None


def test_worker_state_round_trips(store: TradingStore) -> None:
    assert store.load_state("BTC/USD") is None
    store.save_state("BTC/USD", T0, 0.5, "3")
    store.save_state("BTC/USD", T0 + 60_000_000_000, -1.0, "4")
    assert store.load_state("BTC/USD") == (T0 + 60_000_000_000, -1.0)


def test_order_state_reports_status_and_filled_quantity(store: TradingStore) -> None:
    order = _order()
    assert store.order_state(order.client_order_id) is None
    store.record_order(order, CONTEXT)
    store.record_fill(_fill(order, 1, 0.5, 100.0))
    assert store.order_state(order.client_order_id) == ("partially_filled", 0.5)


@pytest.mark.parametrize(("symbol", "quote"), [("BTC/USD", "USD"), ("BTC/USDT:USDT", "USDT"), ("ETH/BTC", "BTC")])
def test_quote_currency(symbol: str, quote: str) -> None:
    from traider.execution.store import quote_currency

    assert quote_currency(symbol) == quote


def test_a_batch_stores_like_one_by_one_and_a_replayed_batch_changes_nothing(
    store: TradingStore, admin_engine: Engine
) -> None:
    from traider.execution.batch import record_batch

    orders = [_order(number, Side.BUY if number % 3 else Side.SELL, 1.0 + number) for number in range(1, 7)]
    pairs = [(order, _fill(order, 1, order.quantity, 100.0 + order.quantity)) for order in orders]
    pairs[2] = (pairs[2][0], _fill(pairs[2][0], 1, 0.5, 103.0))  # a partial fill: the rest is cancelled
    pairs[4] = (pairs[4][0], None)  # nothing filled
    store.deposit("USD", 10_000.0)
    with admin_engine.connect() as connection:
        before = connection.execute(text("SELECT coalesce(max(seq), 0) FROM audit.events")).scalar_one()
    first = record_batch(store, pairs, CONTEXT)
    again = record_batch(store, pairs, CONTEXT)
    assert (first.orders, first.fills) == (6, 5)
    assert (again.orders, again.fills) == (0, 0)
    expected = PositionState()
    cash = 10_000.0
    for _, fill in pairs:
        if fill is not None:
            expected = expected.after_fill(fill.signed_quantity, fill.price)
            cash -= fill.signed_quantity * fill.price + fill.fee
    position = store.positions()["BTC/USD"]
    assert position.quantity == pytest.approx(expected.quantity)
    assert position.realised_pnl == pytest.approx(expected.realised_pnl)
    assert store.cash("USD") == pytest.approx(cash)
    with admin_engine.connect() as connection:
        statuses = dict(connection.execute(text("SELECT client_order_id, status FROM trading.orders")).all())
        events = (
            connection.execute(
                text("SELECT action FROM audit.events WHERE seq > :after ORDER BY seq"), {"after": before}
            )
            .scalars()
            .all()
        )
        assert verify(connection).ok
    assert statuses[orders[2].client_order_id] == "canceled"
    assert statuses[orders[4].client_order_id] == "canceled"
    assert statuses[orders[0].client_order_id] == "filled"
    assert events == ["order.new"] * 6 + ["fill"] * 5  # the replay appended nothing
