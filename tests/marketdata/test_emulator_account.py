"""The emulator's signed Binance spot trading API: Binance's authentication, matching against the recorded book,
balances, Binance's refusals, and fault injection, checked by hand-signed requests and the real ccxt client.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import ccxt
import pytest

from traider.marketdata.ccxt_client import rewrite_api_urls
from traider.marketdata.emulator import ExchangeEmulator

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_faults")]

SECRET = "emulatorSecretForTests"
KEYS = (f"acct{n:04d}" for n in itertools.count(1))


@pytest.fixture
def key(emulator: ExchangeEmulator) -> str:
    """A fresh account: 10,000 USDT and 20,000 NKN."""
    api_key = next(KEYS)
    emulator.add_account(api_key, SECRET, {"USDT": 10_000, "NKN": 20_000})
    return api_key


@pytest.fixture(scope="module")
def markets(emulator: ExchangeEmulator) -> Any:
    """Binance's spot markets as ccxt loads them from the emulator, shared by the module's clients."""
    exchange = _client(emulator, "nobody", "none")
    exchange.load_markets()
    return exchange.markets


@pytest.fixture
def client(emulator: ExchangeEmulator, markets: Any, key: str) -> Iterator[Any]:
    """A real ccxt binance client with the fresh account's keys."""
    exchange = _client(emulator, key, SECRET)
    exchange.set_markets(markets)
    yield exchange


def _client(emulator: ExchangeEmulator, api_key: str, secret: str) -> Any:
    options = {"fetchCurrencies": False, "fetchMargins": False, "fetchMarkets": {"types": ["spot"]}}
    exchange = ccxt.binance({"apiKey": api_key, "secret": secret, "timeout": 3_000, "options": options})
    exchange.urls["api"] = rewrite_api_urls(exchange.urls["api"], emulator.base_url("binance"))
    return exchange


def signed(
    emulator: ExchangeEmulator,
    method: str,
    path: str,
    params: dict[str, Any],
    *,
    api_key: str | None,
    secret: str = SECRET,
    timestamp: int | None = None,
    tamper: str = "",
) -> tuple[int, Any]:
    """Send a request signed as Binance wants (query for GET/DELETE, form body for POST); return status and body."""
    query = urlencode({**params, "timestamp": timestamp if timestamp is not None else int(time.time() * 1000)})
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    payload = f"{query}{tamper}&signature={signature}"
    url = f"{emulator.base_url('binance')}/{path}"
    data = None
    if method == "POST":
        data = payload.encode()
    else:
        url += "?" + payload
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if api_key is not None:
        request.add_header("X-MBX-APIKEY", api_key)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def balances(client: Any) -> dict[str, tuple[Decimal, Decimal]]:
    raw = client.fetch_balance()["info"]["balances"]
    return {row["asset"]: (Decimal(row["free"]), Decimal(row["locked"])) for row in raw}


# authentication


def test_signed_request_with_the_account_key_and_secret_answers_the_balances(
    emulator: ExchangeEmulator, key: str
) -> None:
    status, body = signed(emulator, "GET", "api/v3/account", {}, api_key=key)

    assert status == 200
    assert {row["asset"]: row["free"] for row in body["balances"]} == {
        "NKN": "20000.00000000",
        "USDT": "10000.00000000",
    }
    assert body["accountType"] == "SPOT"


@pytest.mark.parametrize(
    ("case", "status", "code", "message"),
    [
        ("wrong secret", 400, -1022, "Signature for this request is not valid."),
        ("tampered query", 400, -1022, "Signature for this request is not valid."),
        ("unknown key", 401, -2015, "Invalid API-key, IP, or permissions for action."),
        ("no key header", 401, -2014, "API-key format invalid."),
        ("stale timestamp", 400, -1021, "Timestamp for this request is outside of the recvWindow."),
        ("future timestamp", 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."),
    ],
)
def test_bad_credentials_answer_binance_error_bodies(
    emulator: ExchangeEmulator, key: str, case: str, status: int, code: int, message: str
) -> None:
    now = int(time.time() * 1000)
    cases: dict[str, dict[str, Any]] = {
        "wrong secret": {"api_key": key, "secret": "not-the-secret"},
        "tampered query": {"api_key": key, "tamper": "&omitZeroBalances=true"},
        "unknown key": {"api_key": "someoneElse"},
        "no key header": {"api_key": None},
        "stale timestamp": {"api_key": key, "timestamp": now - 60_000},
        "future timestamp": {"api_key": key, "timestamp": now + 60_000},
    }
    arguments = cases[case]

    answer = signed(emulator, "GET", "api/v3/account", {}, **arguments)

    assert answer == (status, {"code": code, "msg": message})


def test_signature_covers_the_form_body_of_a_post(emulator: ExchangeEmulator, key: str) -> None:
    order = {"symbol": "NKNUSDT", "side": "BUY", "type": "MARKET", "quantity": "100"}

    tampered = signed(emulator, "POST", "api/v3/order", order, api_key=key, tamper="&quantity=1000")
    placed = signed(emulator, "POST", "api/v3/order", order, api_key=key)

    assert tampered == (400, {"code": -1022, "msg": "Signature for this request is not valid."})
    assert placed[0] == 200
    assert placed[1]["status"] == "FILLED"
    assert placed[1]["executedQty"] == "100.00000000"


def test_ccxt_with_the_wrong_secret_raises_authentication_error(emulator: ExchangeEmulator, markets: Any) -> None:
    emulator.add_account("acctWrongSecret", SECRET, {"USDT": 1})
    exchange = _client(emulator, "acctWrongSecret", "guessed")
    exchange.set_markets(markets)

    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        exchange.fetch_balance()


def test_accounts_given_to_the_constructor_are_served_after_a_restart(shared_data: Any) -> None:
    with ExchangeEmulator(shared_data, venues=["binance"], accounts={"ctorKey": SECRET}) as emu:
        emu.add_account("addedKey", SECRET, {"BTC": "0.5"})
        emu.stop()
        emu.start()
        first = signed(emu, "GET", "api/v3/account", {}, api_key="ctorKey")
        second = signed(emu, "GET", "api/v3/account", {}, api_key="addedKey")

    assert (first[0], first[1]["balances"]) == (200, [])
    assert second[1]["balances"] == [{"asset": "BTC", "free": "0.50000000", "locked": "0.00000000"}]


# matching and balances


def test_market_buy_walks_the_recorded_book_and_pays_the_fee_in_quote(client: Any) -> None:
    book = client.fetch_order_book("NKN/USDT", 5)
    (p1, q1), (p2, _) = book["asks"][:2]
    quantity = q1 + 1000

    order = client.create_order("NKN/USDT", "market", "buy", quantity, None, {"newClientOrderId": "walk-1"})

    fills = order["info"]["fills"]
    assert [(Decimal(f["price"]), Decimal(f["qty"])) for f in fills] == [
        (Decimal(str(p1)), Decimal(str(q1))),
        (Decimal(str(p2)), Decimal(1000)),
    ]
    cost = Decimal(str(p1)) * Decimal(str(q1)) + Decimal(str(p2)) * 1000
    fee = sum(Decimal(f["commission"]) for f in fills)
    assert {f["commissionAsset"] for f in fills} == {"USDT"}
    assert fee == pytest.approx(cost * Decimal("0.001"), abs=Decimal("1e-8"))
    assert order["status"] == "closed"
    assert order["average"] == pytest.approx(float(cost) / quantity)
    assert balances(client) == {
        "NKN": (Decimal(20_000) + Decimal(str(quantity)), Decimal(0)),
        "USDT": (Decimal(10_000) - cost - fee, Decimal(0)),
    }


def test_trade_ids_are_unique_and_the_same_on_every_query(client: Any) -> None:
    first = client.create_order("NKN/USDT", "market", "buy", 5000, None)
    second = client.create_order("NKN/USDT", "market", "sell", 300, None)

    trades = client.fetch_my_trades("NKN/USDT")
    again = client.fetch_my_trades("NKN/USDT")
    of_first = client.fetch_my_trades("NKN/USDT", params={"orderId": first["id"]})

    ids = [trade["id"] for trade in trades]
    assert len(ids) == len(set(ids)) == 3
    assert [(t["id"], t["price"], t["amount"]) for t in again] == [(t["id"], t["price"], t["amount"]) for t in trades]
    assert [t["id"] for t in of_first] == [t["id"] for t in first["trades"]]
    assert {t["order"] for t in trades} == {first["id"], second["id"]}
    assert [t["side"] for t in trades] == ["buy", "buy", "sell"]


def test_market_order_larger_than_the_book_expires_with_the_partial_fills(client: Any, key: str) -> None:
    book = client.fetch_order_book("BTC/USDT")
    available = sum(amount for _, amount in book["asks"])

    order = client.create_order("BTC/USDT", "market", "buy", 1.0, None)

    assert order["status"] == "expired"
    assert order["filled"] == pytest.approx(available)
    assert [trade["price"] for trade in order["trades"]] == [price for price, _ in book["asks"]]


def test_limit_order_rests_locks_its_quote_and_cancel_releases_it(client: Any) -> None:
    order = client.create_order("NKN/USDT", "limit", "buy", 100, 0.2, {"newClientOrderId": "rest-1"})
    locked = balances(client)["USDT"]

    open_orders = client.fetch_open_orders("NKN/USDT")
    cancelled = client.cancel_order(order["id"], "NKN/USDT")

    assert order["status"] == "open"
    assert order["filled"] == 0
    assert locked == (Decimal(10_000) - Decimal("20.02"), Decimal("20.02"))  # 100 x 0.2 and the 0.1% fee
    assert [o["clientOrderId"] for o in open_orders] == ["rest-1"]
    assert cancelled["status"] == "canceled"
    assert balances(client)["USDT"] == (Decimal(10_000), Decimal(0))
    assert client.fetch_open_orders("NKN/USDT") == []


def test_marketable_limit_order_takes_what_its_price_allows_and_rests_the_rest(client: Any) -> None:
    (best, size), _ = client.fetch_order_book("NKN/USDT", 5)["asks"][:2]

    gtc = client.create_order("NKN/USDT", "limit", "buy", size + 100, best, {"newClientOrderId": "gtc-1"})
    ioc = client.create_order("NKN/USDT", "limit", "buy", size + 100, best, {"timeInForce": "IOC"})
    fok = client.create_order("NKN/USDT", "limit", "buy", size + 100, best, {"timeInForce": "FOK"})

    assert (gtc["status"], gtc["filled"], gtc["info"]["status"]) == ("open", size, "PARTIALLY_FILLED")
    assert (ioc["status"], ioc["filled"]) == ("expired", size)
    assert (fok["status"], fok["filled"], fok["trades"]) == ("expired", 0, [])
    assert balances(client)["USDT"][1] == pytest.approx(Decimal("100") * Decimal(str(best)) * Decimal("1.001"))


# refusals


def test_client_order_id_of_an_open_order_is_refused_and_of_a_closed_one_accepted(client: Any) -> None:
    client.create_order("NKN/USDT", "limit", "buy", 100, 0.2, {"newClientOrderId": "dup-open"})
    client.create_order("NKN/USDT", "market", "buy", 100, None, {"newClientOrderId": "dup-closed"})

    with pytest.raises(ccxt.InvalidOrder, match=r'"code":-2010,"msg":"Duplicate order sent."'):
        client.create_order("NKN/USDT", "limit", "buy", 100, 0.2, {"newClientOrderId": "dup-open"})
    again = client.create_order("NKN/USDT", "market", "buy", 100, None, {"newClientOrderId": "dup-closed"})
    found = client.fetch_order(None, "NKN/USDT", {"origClientOrderId": "dup-closed"})

    assert again["status"] == "closed"  # as on Binance: a client order id is unique among open orders only
    assert found["id"] == again["id"]  # a look-up by client order id finds the newest


def test_unknown_order_and_cancelling_a_closed_order_are_refused(client: Any) -> None:
    filled = client.create_order("NKN/USDT", "market", "buy", 100, None)

    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        client.fetch_order(None, "NKN/USDT", {"origClientOrderId": "never-sent"})
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        client.cancel_order(filled["id"], "NKN/USDT")


def test_insufficient_balance_is_refused_and_changes_nothing(client: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order("NKN/USDT", "market", "sell", 20_001, None)

    assert balances(client) == {"NKN": (Decimal(20_000), Decimal(0)), "USDT": (Decimal(10_000), Decimal(0))}
    assert client.fetch_my_trades("NKN/USDT") == []


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"quantity": "10.5"}, -1013, "Filter failure: LOT_SIZE"),
        ({"quantity": "1"}, -1013, "Filter failure: MIN_NOTIONAL"),
        ({"quantity": "1e3"}, -1100, "Illegal characters found in parameter 'quantity'"),
        ({"quantity": "10", "newClientOrderId": "run-NKN/USDT-1"}, -1100, "legal range is '^[a-zA-Z0-9-_]{1,36}$'"),
        ({"quantity": "10", "newClientOrderId": "x" * 37}, -1100, "parameter 'newClientOrderId'"),
        ({}, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent"),
        ({"quantity": "10", "type": "LIMIT", "price": "0.3"}, -1102, "Mandatory parameter 'timeInForce'"),
        ({"quantity": "10", "symbol": "NOPE"}, -1121, "Invalid symbol."),
    ],
)
def test_malformed_orders_are_refused_with_binance_codes(
    emulator: ExchangeEmulator, key: str, params: dict[str, str], code: int, message: str
) -> None:
    order = {"symbol": "NKNUSDT", "side": "BUY", "type": "MARKET"} | params

    status, body = signed(emulator, "POST", "api/v3/order", order, api_key=key)

    assert (status, body["code"]) == (400, code)
    assert message in body["msg"]


def test_trade_queries_keep_binance_time_and_parameter_rules(emulator: ExchangeEmulator, key: str) -> None:
    now = int(time.time() * 1000)
    too_long = {"symbol": "NKNUSDT", "startTime": now - 2 * 86_400_000, "endTime": now}
    mixed = {"symbol": "NKNUSDT", "startTime": now - 1000, "fromId": 1}

    assert signed(emulator, "GET", "api/v3/myTrades", too_long, api_key=key) == (
        400,
        {"code": -1127, "msg": "More than 24 hours between startTime and endTime."},
    )
    assert signed(emulator, "GET", "api/v3/myTrades", mixed, api_key=key)[1]["code"] == -1128


def test_quote_amount_market_order_spends_about_that_much(client: Any) -> None:
    order = client.create_order("NKN/USDT", "market", "buy", None, None, {"quoteOrderQty": 100})

    assert order["status"] == "closed"
    assert 100 - 0.3526 < order["cost"] <= 100
    assert order["filled"] == int(order["filled"])  # whole lots of the 1 NKN step


# faults


@pytest.mark.parametrize(("kind", "error"), [("429", ccxt.DDoSProtection), ("5xx", ccxt.ExchangeNotAvailable)])
def test_injected_faults_apply_to_the_signed_endpoints(
    emulator: ExchangeEmulator, client: Any, kind: str, error: type[Exception]
) -> None:
    emulator.inject("binance", kind, count=1, path_contains="/api/v3/order")

    with pytest.raises(error):
        client.create_order("NKN/USDT", "market", "buy", 100, None, {"newClientOrderId": "faulted-1"})
    with pytest.raises(ccxt.OrderNotFound):  # the faulted request never reached the account
        client.fetch_order(None, "NKN/USDT", {"origClientOrderId": "faulted-1"})

    expected = 429 if kind == "429" else 503
    assert [r.status for r in emulator.requests if r.path == "/api/v3/order"] == [expected, 400]


def test_timeout_fault_books_the_order_but_loses_the_answer(emulator: ExchangeEmulator, client: Any) -> None:
    emulator.inject("binance", "timeout", count=1, path_contains="/api/v3/order", latency_s=1.5)
    client.timeout = 500

    with pytest.raises(ccxt.RequestTimeout):
        client.create_order("NKN/USDT", "market", "buy", 100, None, {"newClientOrderId": "lost-answer"})
    found = client.fetch_order(None, "NKN/USDT", {"origClientOrderId": "lost-answer"})

    assert (found["status"], found["filled"]) == ("closed", 100)
