"""`record_batch`: the group commit gives what booking one order and fill at a time gives, exactly once."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from traider.audit.chain import verify
from traider.backtest.costs.fills import Side
from traider.db.engine import make_engine
from traider.execution.batch import BatchResult, record_batch
from traider.execution.orders import Fill, Order
from traider.execution.positions import PositionState
from traider.execution.store import OrderContext, TradingStore

CONTEXT = OrderContext(
    strategy="model", model_name="xgb", model_version="3", mlflow_run_id="run-1", features={"rsi_14": 41.5}
)
T0 = 1_700_000_000_000_000_000
Pair = tuple[Order, Fill | None]


def _order(name: str, side: Side = Side.BUY, quantity: float = 2.0, symbol: str = "BTC/USD") -> Order:
    return Order(name, symbol, side, quantity, T0 + len(name), 0.5)


def _fill(order: Order, part: int, quantity: float, price: float) -> Fill:
    return Fill(order.client_order_id, f"{order.client_order_id}-{part}", order.symbol, order.side, quantity, price,
                quantity * price * 0.001, 0.25, "taker", order.decided_at + part)  # fmt: skip


def _pairs(prefix: str) -> list[Pair]:
    """Buys and sells on two symbols and quotes: full fills, a partial fill, an unfilled order, a reversal."""
    plan: list[tuple[Side, float, float | None, float, str]] = [
        (Side.BUY, 1.0, 1.0, 100.0, "BTC/USD"),
        (Side.BUY, 3.0, 3.0, 110.0, "BTC/USD"),
        (Side.SELL, 2.0, 0.5, 120.0, "BTC/USD"),  # partial: the rest is cancelled
        (Side.SELL, 1.0, None, 0.0, "BTC/USD"),  # nothing filled
        (Side.SELL, 6.0, 6.0, 90.0, "BTC/USD"),  # crosses zero: short afterwards
        (Side.BUY, 10.0, 10.0, 2.5, "ETH/BTC"),
        (Side.SELL, 4.0, 4.0, 2.75, "ETH/BTC"),
    ]
    pairs: list[Pair] = []
    for number, (side, quantity, filled, price, symbol) in enumerate(plan):
        order = _order(f"{prefix}-{number}", side, quantity, symbol)
        pairs.append((order, None if filled is None else _fill(order, 1, filled, price)))
    return pairs


def _expected_positions(pairs: list[Pair]) -> dict[str, PositionState]:
    states: dict[str, PositionState] = {}
    for _, fill in pairs:
        if fill is not None:
            states[fill.symbol] = states.get(fill.symbol, PositionState()).after_fill(fill.signed_quantity, fill.price)
    return states


def _assert_positions(stored: dict[str, PositionState], expected: dict[str, PositionState]) -> None:
    assert set(stored) == set(expected)
    for symbol, state in expected.items():
        got = stored[symbol]
        assert (got.quantity, got.realised_pnl) == (pytest.approx(state.quantity), pytest.approx(state.realised_pnl))
        if state.average_entry_price is None:
            assert got.average_entry_price is None
        else:
            assert got.average_entry_price == pytest.approx(state.average_entry_price)


@pytest.fixture
def store(clean_tables: Engine, app_engine: Engine) -> TradingStore:
    return TradingStore(app_engine, mode="paper", venue="binance")


def _last_seq(admin_engine: Engine) -> int:
    with admin_engine.connect() as connection:
        return int(connection.execute(text("SELECT coalesce(max(seq), 0) FROM audit.events")).scalar_one())


def _events_after(admin_engine: Engine, seq: int) -> list[Any]:
    with admin_engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT actor, action, subject, payload FROM audit.events WHERE seq > :seq ORDER BY seq"),
                {"seq": seq},
            ).all()
        )


def _orders(admin_engine: Engine, venue: str) -> dict[str, tuple[str, float, bool]]:
    with admin_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT client_order_id, status, filled_quantity, closed_at FROM trading.orders WHERE venue = :venue"),
            {"venue": venue},
        ).all()
    return {row.client_order_id: (row.status, float(row.filled_quantity), row.closed_at is not None) for row in rows}


def _strip(name: str) -> str:
    return name.split("-", 1)[1]


def test_a_batch_stores_and_audits_what_one_at_a_time_does(
    store: TradingStore, app_engine: Engine, admin_engine: Engine
) -> None:
    single = TradingStore(app_engine, mode="paper", venue="kraken")
    for each in (store, single):
        each.deposit("USD", 10_000.0)
        each.deposit("BTC", 50.0)
    start = _last_seq(admin_engine)
    for order, fill in _pairs("single"):
        single.record_order(order, CONTEXT)
        if fill is not None:
            single.record_fill(fill)
        single.cancel_unfilled(order.client_order_id, "IOC remainder")
    middle = _last_seq(admin_engine)
    result = record_batch(store, _pairs("batch"), CONTEXT)
    assert result == BatchResult(orders=7, fills=6)
    assert {_strip(k): v for k, v in _orders(admin_engine, "binance").items()} == {
        _strip(k): v for k, v in _orders(admin_engine, "kraken").items()
    }
    assert _orders(admin_engine, "binance")["batch-2"] == ("canceled", 0.5, True)
    assert _orders(admin_engine, "binance")["batch-3"] == ("canceled", 0.0, True)
    _assert_positions(store.positions(), _expected_positions(_pairs("batch")))
    _assert_positions(single.positions(), _expected_positions(_pairs("batch")))
    for asset in ("USD", "BTC"):
        assert store.cash(asset) == pytest.approx(single.cash(asset))
    single_events = [
        e for e in _events_after(admin_engine, start)[: middle - start] if e.action in ("order.new", "fill")
    ]
    batch_events = _events_after(admin_engine, middle)
    assert [e.action for e in batch_events] == ["order.new"] * 7 + ["fill"] * 6
    assert [e.subject for e in batch_events] == [o.client_order_id for o, _ in _pairs("batch")] + [
        f.fill_id for _, f in _pairs("batch") if f is not None
    ]
    by_subject = {(e.action, _strip(e.subject)): e.payload for e in single_events}
    for batch_event in batch_events:
        expected = by_subject[(batch_event.action, _strip(batch_event.subject))]
        payload = dict(batch_event.payload)
        assert payload.pop("venue") == "binance" and expected.pop("venue") == "kraken"
        if "order" in payload:
            assert _strip(payload.pop("order")) == _strip(expected.pop("order"))
        assert payload == expected
    assert {e.actor for e in batch_events} == {"worker"}
    with admin_engine.connect() as connection:
        assert verify(connection).ok


def test_a_replayed_or_overlapping_batch_books_and_audits_only_what_is_new(
    store: TradingStore, admin_engine: Engine
) -> None:
    pairs = _pairs("b")
    assert record_batch(store, pairs[:4], CONTEXT) == BatchResult(4, 3)
    before = _last_seq(admin_engine)
    positions, cash, orders = store.positions(), store.cash("USD"), _orders(admin_engine, "binance")
    assert record_batch(store, pairs[:4], CONTEXT) == BatchResult(0, 0)
    assert (store.positions(), store.cash("USD"), _orders(admin_engine, "binance")) == (positions, cash, orders)
    assert _last_seq(admin_engine) == before
    assert record_batch(store, pairs, CONTEXT) == BatchResult(3, 3)
    events = _events_after(admin_engine, before)
    assert [(e.action, e.subject) for e in events] == [("order.new", f"b-{n}") for n in (4, 5, 6)] + [
        ("fill", f"b-{n}-1") for n in (4, 5, 6)
    ]
    _assert_positions(store.positions(), _expected_positions(pairs))
    with admin_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM trading.fills")).scalar_one() == 6
        assert verify(connection).ok


def test_orders_stored_before_the_batch_are_closed_by_it(store: TradingStore, admin_engine: Engine) -> None:
    earlier, partly, idle = _order("b-1", quantity=2.0), _order("b-2", quantity=2.0), _order("b-3", quantity=1.0)
    for order in (earlier, partly, idle):
        store.record_order(order, CONTEXT)
    store.record_fill(_fill(partly, 1, 0.5, 100.0))
    before = _last_seq(admin_engine)
    fresh = _order("b-4", quantity=1.0)
    pairs: list[Pair] = [(earlier, _fill(earlier, 1, 2.0, 101.0)), (partly, _fill(partly, 2, 1.5, 102.0)),
                         (idle, None), (fresh, _fill(fresh, 1, 1.0, 103.0))]  # fmt: skip
    assert record_batch(store, pairs, CONTEXT) == BatchResult(1, 3)
    assert _orders(admin_engine, "binance") == {
        "b-1": ("filled", 2.0, True),
        "b-2": ("filled", 2.0, True),
        "b-3": ("canceled", 0.0, True),
        "b-4": ("filled", 1.0, True),
    }
    assert [(e.action, e.subject) for e in _events_after(admin_engine, before)] == [
        ("order.new", "b-4"), ("fill", "b-1-1"), ("fill", "b-2-2"), ("fill", "b-4-1"),
    ]  # fmt: skip
    assert store.positions()["BTC/USD"].quantity == pytest.approx(0.5 + 2.0 + 1.5 + 1.0)


def test_a_new_order_whose_fill_was_stored_before_is_not_counted_as_filled(
    store: TradingStore, admin_engine: Engine
) -> None:
    first = _order("b-1", quantity=1.0)
    record_batch(store, [(first, _fill(first, 1, 1.0, 100.0))], CONTEXT)
    before = _last_seq(admin_engine)
    second = _order("b-2", quantity=1.0)
    reused = Fill("b-2", "b-1-1", "BTC/USD", Side.BUY, 1.0, 100.0, 0.1, 0.0, "taker", T0)  # a fill id already booked
    assert record_batch(store, [(second, reused)], CONTEXT) == BatchResult(1, 0)
    assert _orders(admin_engine, "binance")["b-2"] == ("canceled", 0.0, True)
    assert [(e.action, e.subject) for e in _events_after(admin_engine, before)] == [("order.new", "b-2")]
    assert store.positions()["BTC/USD"].quantity == pytest.approx(1.0)


def test_repeats_within_a_batch_count_once_and_unknown_orders_fills_are_left_out(
    store: TradingStore, admin_engine: Engine
) -> None:
    order = _order("b-1", quantity=1.0)
    fill = _fill(order, 1, 1.0, 100.0)
    stranger = Fill("nobody", "nobody-1", "BTC/USD", Side.BUY, 1.0, 100.0, 0.1, 0.0, "taker", T0)
    before = _last_seq(admin_engine)
    assert record_batch(store, [(order, fill), (order, fill), (_order("b-2"), stranger)], CONTEXT) == BatchResult(2, 1)
    assert [(e.action, e.subject) for e in _events_after(admin_engine, before)] == [
        ("order.new", "b-1"), ("order.new", "b-2"), ("fill", "b-1-1"),
    ]  # fmt: skip
    assert _orders(admin_engine, "binance") == {"b-1": ("filled", 1.0, True), "b-2": ("canceled", 0.0, True)}
    assert store.positions()["BTC/USD"].quantity == pytest.approx(1.0)


def test_a_batch_without_fills_closes_its_orders(store: TradingStore, admin_engine: Engine) -> None:
    before = _last_seq(admin_engine)
    assert record_batch(store, [(_order("b-1"), None), (_order("b-2"), None)], CONTEXT) == BatchResult(2, 0)
    assert record_batch(store, [], CONTEXT) == BatchResult(0, 0)
    assert [e.action for e in _events_after(admin_engine, before)] == ["order.new", "order.new"]
    assert set(_orders(admin_engine, "binance").values()) == {("canceled", 0.0, True)}
    assert store.positions() == {}


@pytest.mark.parametrize("failure", ["bad fill", "audit refused"])
def test_a_failing_batch_leaves_nothing(
    store: TradingStore, app_engine: Engine, admin_engine: Engine, failure: str
) -> None:
    store.deposit("USD", 1_000.0)
    first = _order("b-0", quantity=1.0)
    record_batch(store, [(first, _fill(first, 1, 1.0, 100.0))], CONTEXT)
    before, positions, cash = _last_seq(admin_engine), store.positions(), store.cash("USD")
    pairs = _pairs("b")[1:]
    writer = store
    if failure == "bad fill":
        order, fill = pairs[-1]
        assert fill is not None
        pairs[-1] = (order, Fill(fill.client_order_id, fill.fill_id, fill.symbol, fill.side, fill.quantity, -1.0,
                                 fill.fee, fill.slippage, fill.liquidity, fill.ts))  # fmt: skip
    else:  # the audit chain refuses an empty actor: everything before it in the transaction goes too
        writer = TradingStore(app_engine, mode="paper", venue="binance", actor="")
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        record_batch(writer, pairs, CONTEXT)
    assert _orders(admin_engine, "binance") == {"b-0": ("filled", 1.0, True)}
    assert (store.positions(), store.cash("USD"), _last_seq(admin_engine)) == (positions, cash, before)


def test_the_batch_commits_synchronously_even_when_the_session_does_not(
    clean_tables: Engine, database_url: Any
) -> None:
    engine = make_engine(database_url, role="traider_app")
    seen: list[str] = []

    @event.listens_for(engine, "connect")
    def _asynchronous(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("SET synchronous_commit = off")
        dbapi_connection.commit()

    @event.listens_for(engine, "after_cursor_execute")
    def _look(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "audit.append_batch" in statement:  # the transaction's last statement
            seen.append(cursor.connection.execute("SHOW synchronous_commit").fetchone()[0])

    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW synchronous_commit")).scalar() == "off"
        order = _order("b-1", quantity=1.0)
        record_batch(TradingStore(engine, mode="paper", venue="binance"), [(order, _fill(order, 1, 1.0, 9.0))], CONTEXT)
    finally:
        engine.dispose()
    assert seen == ["on"]


def test_concurrent_batches_and_single_fills_on_one_symbol_book_everything_once(
    store: TradingStore, admin_engine: Engine
) -> None:
    errors: list[BaseException] = []
    all_pairs: list[Pair] = []

    def batches(name: str) -> None:
        try:
            for number in range(6):
                pairs = [(o, _fill(o, 1, o.quantity, 100.0 + n)) for n, o in
                         enumerate(_order(f"{name}-{number}-{k}", Side.BUY if k % 3 else Side.SELL, 1.0 + k % 4)
                                   for k in range(40))]  # fmt: skip
                all_pairs.extend(pairs)
                record_batch(store, pairs, CONTEXT)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def singles() -> None:
        try:
            for number in range(30):
                order = _order(f"s-{number}", Side.SELL if number % 2 else Side.BUY, 0.5)
                fill = _fill(order, 1, 0.5, 99.0)
                all_pairs.append((order, fill))
                store.record_order(order, CONTEXT)
                store.record_fill(fill)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=batches, args=(f"b{index}",)) for index in range(2)]
    threads.append(threading.Thread(target=singles))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [error for error in errors if isinstance(error, psycopg.errors.DeadlockDetected)] == []
    assert errors == []
    net = sum(fill.signed_quantity for _, fill in all_pairs if fill is not None)
    assert store.positions()["BTC/USD"].quantity == pytest.approx(net)
    with admin_engine.connect() as connection:
        fills = connection.execute(text("SELECT count(*) FROM trading.fills")).scalar_one()
        events = connection.execute(
            text(
                "SELECT count(*) FROM audit.events WHERE action IN ('order.new', 'fill') AND subject LIKE ANY "
                "(ARRAY['b0-%', 'b1-%', 's-%'])"
            )
        ).scalar_one()
        assert verify(connection).ok
    assert fills == 2 * 6 * 40 + 30
    assert events == 2 * fills
