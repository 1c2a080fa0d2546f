"""The live ccxt broker against the exchange emulator's Binance, with the real ccxt client: fills from the
venue's trades, at most one venue order per client order id through faults and restarts, refusals, reconciliation.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.marketdata.conftest import loopback_only  # noqa: F401 (an autouse fixture: no connection leaves the host)
from traider.backtest.costs.fills import Side
from traider.config import Settings
from traider.execution.ccxt_broker import (
    CcxtBroker,
    LiveBrokerError,
    LiveTradingRefused,
    make_live_broker,
    venue_client_order_id,
)
from traider.execution.orders import Fill, Order
from traider.marketdata.ccxt_client import RetryPolicy
from traider.marketdata.emulator import ExchangeEmulator

pytestmark = pytest.mark.timeout(60)

SECRET = "brokerSecretNeverShown0123456789"
SYMBOL = "NKN/USDT"
FAST = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=0.05)
KEYS = (f"broker{n:04d}" for n in itertools.count(1))
IDS = itertools.count(1_700_000_000_000_000_000, 60_000_000_000)


@pytest.fixture(scope="module")
def emulator(shared_data: Any) -> Iterator[ExchangeEmulator]:
    """The exchange emulator's Binance, one per module."""
    with ExchangeEmulator(shared_data, venues=["binance"]) as emu:
        yield emu


@pytest.fixture
def key(emulator: ExchangeEmulator) -> Iterator[str]:
    """A fresh venue account (10,000 USDT, 20,000 NKN), with no faults and an empty request log."""
    api_key = next(KEYS)
    emulator.add_account(api_key, SECRET, {"USDT": 10_000, "NKN": 20_000})
    emulator.clear_faults()
    emulator.reset_log()
    yield api_key
    emulator.clear_faults()


@pytest.fixture
def connect(emulator: ExchangeEmulator, key: str) -> Callable[..., CcxtBroker]:
    """Return a factory of brokers on the emulator (a new one stands for a restarted worker)."""

    def make(secret: str = SECRET, timeout_ms: int = 1_000) -> CcxtBroker:
        base = emulator.base_url("binance")
        return CcxtBroker.connect(key, secret, api_base_url=base, timeout_ms=timeout_ms, rate_limit_ms=1, policy=FAST)

    return make


@pytest.fixture
def broker(connect: Callable[..., CcxtBroker]) -> CcxtBroker:
    return connect()


def order(side: Side = Side.BUY, quantity: float = 5_000.0, run: str = "live") -> Order:
    """A worker order, with the worker's client order id `<run>-<symbol>-<ns>` (not a legal Binance id)."""
    ts = next(IDS)
    return Order(f"{run}-{SYMBOL}-{ts}", SYMBOL, side, quantity, ts, 0.5)


def venue_orders(emulator: ExchangeEmulator, key: str) -> list[Any]:
    account: Any = emulator.app("binance")
    return list(account.accounts.account(key).orders)


def posts(emulator: ExchangeEmulator) -> list[Any]:
    return [r for r in emulator.requests if r.method == "POST" and r.path == "/api/v3/order"]


def fault_on_first_send(monkeypatch: pytest.MonkeyPatch, emulator: ExchangeEmulator, broker: CcxtBroker,
                        kind: str, **fault: Any) -> None:  # fmt: skip
    """Inject `kind` for the broker's first order POST only (its look-ups before it go through)."""
    original = broker.exchange.create_order
    sends = itertools.count()

    def create_order(*args: Any, **kwargs: Any) -> Any:
        if next(sends) == 0:
            emulator.inject("binance", kind, count=1, path_contains="/api/v3/order", **fault)
        return original(*args, **kwargs)

    monkeypatch.setattr(broker.exchange, "create_order", create_order)


def test_market_order_fills_at_the_recorded_book_vwap_with_the_venue_fee(broker: CcxtBroker) -> None:
    asks = broker.exchange.fetch_order_book(SYMBOL, 5)["asks"]
    (p1, q1), (p2, _) = asks[:2]
    wanted = order(quantity=q1 + 1_000)
    mid = 0.35

    fills = broker.submit(wanted, reference_price=mid)

    assert [(f.price, f.quantity) for f in fills] == [(p1, q1), (p2, 1_000.0)]
    assert [f.fee for f in fills] == pytest.approx([p1 * q1 * 0.001, p2 * 1_000 * 0.001])
    assert [f.slippage for f in fills] == pytest.approx([(p1 - mid) * q1, (p2 - mid) * 1_000])
    assert {(f.client_order_id, f.symbol, f.side, f.liquidity) for f in fills} == {
        (wanted.client_order_id, SYMBOL, Side.BUY, "taker")
    }
    assert all(f.fill_id.startswith("NKNUSDT:") for f in fills)
    assert len({f.fill_id for f in fills}) == 2
    assert abs(fills[0].ts - time.time_ns()) < 60 * 10**9
    vwap = (p1 * q1 + p2 * 1_000) / (q1 + 1_000)
    balance = broker.exchange.fetch_balance()
    assert balance["NKN"]["total"] == pytest.approx(20_000 + q1 + 1_000)
    assert balance["USDT"]["total"] == pytest.approx(10_000 - vwap * (q1 + 1_000) * 1.001)


def test_execute_folds_the_venue_trades_into_one_fill_for_the_session(broker: CcxtBroker) -> None:
    asks = broker.exchange.fetch_order_book(SYMBOL, 5)["asks"]
    (p1, q1), (p2, _) = asks[:2]
    wanted = order(quantity=q1 + 1_000)

    fill = broker.execute(wanted, 0.35, wanted.decided_at)

    assert fill is not None
    assert fill.quantity == q1 + 1_000
    assert fill.price == pytest.approx((p1 * q1 + p2 * 1_000) / (q1 + 1_000))
    assert fill.fee == pytest.approx(fill.price * fill.quantity * 0.001)
    assert fill.fill_id.startswith("NKNUSDT:order-")
    assert broker.execute(wanted, 0.35, wanted.decided_at) == fill  # sent again: the same order, the same fill


def test_resending_a_client_order_id_returns_the_existing_fills_and_no_second_order(
    emulator: ExchangeEmulator, key: str, broker: CcxtBroker, connect: Callable[..., CcxtBroker]
) -> None:
    wanted = order()

    first = broker.submit(wanted)
    again = broker.submit(wanted)
    after_restart = connect().submit(wanted)

    assert first == again == after_restart
    assert len(venue_orders(emulator, key)) == 1
    assert len(posts(emulator)) == 1
    sent = posts(emulator)[0].query["newClientOrderId"]
    assert sent == venue_client_order_id(wanted.client_order_id)
    assert venue_orders(emulator, key)[0].client_order_id == sent


def test_a_duplicate_refused_by_the_venue_is_read_as_already_sent_not_as_a_rejection(
    monkeypatch: pytest.MonkeyPatch, emulator: ExchangeEmulator, key: str, broker: CcxtBroker
) -> None:
    wanted = order()
    venue_id = venue_client_order_id(wanted.client_order_id)
    resting = broker.exchange.create_order(SYMBOL, "limit", "buy", 100, 0.2, {"newClientOrderId": venue_id})
    lookup, looks = broker._lookup, itertools.count()  # the first look-up misses the order (a lagging venue)
    monkeypatch.setattr(broker, "_lookup", lambda *args: None if next(looks) == 0 else lookup(*args))

    with pytest.raises(LiveBrokerError, match=r"outcome unknown .*still works"):
        broker.submit(wanted)  # the order with its id rests on the book: it never settles

    assert [o.order_id for o in venue_orders(emulator, key)] == [int(resting["id"])]
    assert [r.status for r in posts(emulator)] == [200, 400]  # the resting order, then the refused duplicate
    assert broker.last_rejection is None


@pytest.mark.parametrize(
    ("kind", "fault", "sends"),
    [
        ("5xx", {}, 2),  # refused before the venue saw it: sent again after the look-up
        ("429", {}, 2),
        ("outage", {}, 2),  # connection dropped unanswered
        ("timeout", {"latency_s": 2.5}, 1),  # booked by the venue, the answer lost: found by the look-up
    ],
)
def test_a_failed_send_then_recovery_leaves_exactly_one_order_at_the_venue(
    monkeypatch: pytest.MonkeyPatch,
    emulator: ExchangeEmulator,
    key: str,
    broker: CcxtBroker,
    kind: str,
    fault: dict[str, Any],
    sends: int,
) -> None:
    asks = broker.exchange.fetch_order_book(SYMBOL, 5)["asks"]
    wanted = order(quantity=asks[0][1] + 1_000)
    fault_on_first_send(monkeypatch, emulator, broker, kind, **fault)

    fills = broker.submit(wanted)

    assert len(venue_orders(emulator, key)) == 1
    assert len(posts(emulator)) == sends
    assert [(f.price, f.quantity) for f in fills] == [(asks[0][0], asks[0][1]), (asks[1][0], 1_000.0)]
    faulted = [r for r in emulator.requests if r.fault is not None]
    assert [(r.method, r.fault.value) for r in faulted if r.fault] == [("POST", kind)]


def test_an_outcome_still_unknown_after_every_retry_raises(
    emulator: ExchangeEmulator, key: str, broker: CcxtBroker
) -> None:
    broker.exchange.load_markets()
    emulator.inject("binance", "5xx", duration=30, path_contains="/api/v3/order")

    with pytest.raises(LiveBrokerError, match=r"outcome unknown after 4 attempts .*ExchangeNotAvailable"):
        broker.submit(order())

    assert venue_orders(emulator, key) == []


def test_wrong_secret_is_a_clear_error_and_sends_nothing(
    emulator: ExchangeEmulator, key: str, connect: Callable[..., CcxtBroker]
) -> None:
    broker = connect(secret="notTheSecret")

    with pytest.raises(LiveBrokerError, match="refused the API key or signature") as raised:
        broker.submit(order())

    assert "TRAIDER_BINANCE_API_SECRET" in str(raised.value)
    assert "Signature for this request is not valid" in str(raised.value)
    assert posts(emulator) == []
    assert venue_orders(emulator, key) == []


def test_rejected_orders_fill_nothing_and_say_why(broker: CcxtBroker) -> None:
    below_lot = order(quantity=0.4)  # NKN trades in whole units
    too_big = order(side=Side.SELL, quantity=20_001)

    assert broker.submit(below_lot) == []
    assert broker.last_rejection is not None and "precision" in broker.last_rejection
    assert broker.execute(too_big, 0.35, too_big.decided_at) is None
    assert broker.last_rejection is not None and "insufficient balance" in broker.last_rejection


def test_reconcile_returns_what_was_traded_open_orders_and_balances(
    monkeypatch: pytest.MonkeyPatch, broker: CcxtBroker
) -> None:
    before = time.time_ns()
    bought = broker.submit(order(quantity=5_000))
    sold = broker.submit(order(side=Side.SELL, quantity=1_000))
    ids = [fill.client_order_id for fill in bought + sold]
    resting = broker.exchange.create_order(SYMBOL, "limit", "buy", 100, 0.2, {"newClientOrderId": "resting-1"})
    monkeypatch.setattr("traider.execution.ccxt_broker.PAGE", 2)  # page through the trades 2 by 2

    seen = broker.reconcile([SYMBOL], before, client_order_ids=ids)
    later = broker.reconcile([SYMBOL], bought[-1].ts + 1_000_000, client_order_ids=ids)

    assert seen.fills == bought + sold
    assert {f.fill_id for f in later.fills} <= {f.fill_id for f in sold}
    assert [(o.client_order_id, o.order_id, o.side, o.quantity, o.price) for o in seen.open_orders] == [
        ("resting-1", resting["id"], Side.BUY, 100.0, 0.2)
    ]
    cost = sum(f.price * f.quantity + f.fee for f in bought) - sum(f.price * f.quantity - f.fee for f in sold)
    assert seen.balances["NKN"].total == pytest.approx(20_000 + 5_000 - 1_000)
    assert seen.balances["USDT"].used == pytest.approx(20.02)
    assert seen.balances["USDT"].total == pytest.approx(10_000 - cost)


def test_worker_ids_become_legal_binance_ids_deterministically() -> None:
    worker_id = "live-BTC/USDT-1700000000000000000"

    venue_id = venue_client_order_id(worker_id)

    assert venue_id == venue_client_order_id(worker_id)
    assert venue_id.startswith("t-") and len(venue_id) == 36
    assert venue_client_order_id("already-legal_1") == "already-legal_1"


# the switch and the secrets


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("LIVE_TRADING", "BINANCE_API_KEY", "BINANCE_API_SECRET", "EXCHANGE_EMULATOR_URL"):
        monkeypatch.delenv(f"TRAIDER_{name}", raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "TRAIDER_LIVE_TRADING"),
        ({"BINANCE_API_KEY": "k", "BINANCE_API_SECRET": "s"}, "TRAIDER_LIVE_TRADING"),
        ({"LIVE_TRADING": "enabled"}, "TRAIDER_BINANCE_API_KEY and TRAIDER_BINANCE_API_SECRET"),
        ({"LIVE_TRADING": "enabled", "BINANCE_API_KEY": "k"}, "TRAIDER_BINANCE_API_SECRET"),
        ({"LIVE_TRADING": "enabled", "BINANCE_API_KEY": "", "BINANCE_API_SECRET": "s"}, "TRAIDER_BINANCE_API_KEY"),
    ],
)
def test_make_live_broker_refuses_without_the_setting_and_both_keys(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(f"TRAIDER_{name}", value)

    with pytest.raises(LiveTradingRefused, match=named) as refused:
        make_live_broker(Settings())

    assert isinstance(refused.value, ValueError)
    assert "\n" not in str(refused.value)


def test_make_live_broker_trades_on_the_emulator_and_never_shows_the_secret(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, emulator: ExchangeEmulator, key: str
) -> None:
    clean_env.setenv("TRAIDER_LIVE_TRADING", "enabled")
    clean_env.setenv("TRAIDER_BINANCE_API_KEY", key)
    clean_env.setenv("TRAIDER_BINANCE_API_SECRET", SECRET)
    clean_env.setenv("TRAIDER_EXCHANGE_EMULATOR_URL", emulator.url)
    caplog.set_level(logging.DEBUG)
    settings = Settings()

    broker = make_live_broker(settings, timeout_ms=1_000, policy=FAST)
    fills = broker.submit(order())
    emulator.inject("binance", "5xx", count=1, path_contains="/api/v3/order")
    retried = broker.submit(order(quantity=100))
    broker.exchange.secret = "wrongSecret"
    with pytest.raises(LiveBrokerError) as refused:
        broker.submit(order())

    assert len(fills) == 2 and len(retried) == 1
    shown = [caplog.text, repr(broker), str(broker), repr(settings), str(settings.model_dump()), str(refused.value)]
    for text in shown:
        assert SECRET not in text
        assert key not in text
    assert "sent to binance" in caplog.text and "looked up before any resend" in caplog.text
    assert "'X-MBX-APIKEY': '<redacted>'" in caplog.text  # ccxt's debug log of the request headers


def test_fills_are_the_records_the_store_books(broker: CcxtBroker) -> None:
    fills = broker.submit(order(quantity=100))

    assert all(isinstance(fill, Fill) and fill.signed_quantity == 100 for fill in fills)
