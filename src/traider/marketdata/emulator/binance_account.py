"""Binance spot's signed trading API (/api/v3), as ccxt 4.5.90 calls it, over emulated accounts.

Nothing here is recorded (a venue's private answers cannot be): every answer is derived, in Binance's schema,
from the account's state and the market's recorded depth book (the snapshots `BinanceApp` serves). Routes:

- POST api/v3/order: MARKET (`quantity` or `quoteOrderQty`) and LIMIT (`timeInForce` GTC, IOC or FOK); answers
  ACK, RESULT or FULL (the default: with the fills).
- GET and DELETE api/v3/order: by `orderId` or `origClientOrderId` (the newest order of the symbol with it).
- GET api/v3/openOrders (one symbol or all), GET api/v3/myTrades (`orderId`, `fromId`, `startTime`/`endTime`
  at most 24 hours apart, `limit` 500 up to 1000), GET api/v3/account (balances, free and locked).

Authentication as the real API: the `X-MBX-APIKEY` header names the account (missing or malformed: -2014,
unknown: -2015, both HTTP 401); `timestamp` must lie within `recvWindow` ms (default 5000, at most 60000) of
the emulator's clock and at most 1000 ms ahead of it (-1021); `signature` is the hex HMAC-SHA256, keyed with
the account's secret, of the query string followed by the body, without the signature (-1022 when it differs).

Matching: a market order walks the recorded book from the best level, one trade per level at the level's
price; what the book cannot absorb expires (status EXPIRED, keeping the partial fills). A LIMIT order takes the
levels at or better than its price and rests for the rest (GTC); IOC expires the rest, FOK the whole order
unless it fills at once. The book is the recording: fills do not deplete it and it never moves, so a resting
order never fills. Each trade pays 0.1% of its quote amount as fee, in the quote asset. Balances move with
each trade; a resting order locks its quote amount with the fee (buy) or its base amount (sell) until it is
cancelled. Order and trade ids count from 1 per symbol, as Binance numbers them per symbol.

Refusals carry Binance's codes and messages: -1121 unknown symbol; -1102 missing parameter; -1100 malformed
number or client order id (legal range '^[a-zA-Z0-9-_]{1,36}$'); -1013 filter failures (LOT_SIZE,
MARKET_LOT_SIZE, PRICE_FILTER, MIN_NOTIONAL); -2010 "Duplicate order sent." when the client order id is that
of an open order of the symbol (as on Binance, the id of a closed order may be used again), and "Account has
insufficient balance for requested action."; -2013 unknown order; -2011 cancelling an order that is not open;
-1127 a trade query spanning more than 24 hours, -1128 `orderId` or `fromId` with a time range.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from traider.marketdata.emulator.base import ApiError, Request, VenueApp, bounded_limit, now_ms

FEE_RATE = Decimal("0.001")
UNIT = Decimal("0.00000001")
ZERO = Decimal(0)
KEY_FORMAT = re.compile(r"^[A-Za-z0-9]{1,64}$")
CLIENT_ID_RANGE = "^[a-zA-Z0-9-_]{1,36}$"  # as Binance's -1100 message spells it
CLIENT_ID_FORMAT = re.compile(r"^[a-zA-Z0-9_\-]{1,36}$")
NUMBER_FORMAT = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
AHEAD_MS = 1_000
DAY_MS = 86_400_000
OPEN = ("NEW", "PARTIALLY_FILLED")
STATE_KEYS: tuple[str, ...] = ("price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty")
STATE_KEYS += ("status", "timeInForce", "type", "side", "selfTradePreventionMode")
NOT_EMULATED = ("LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")

Signed = Callable[[Request, "Account"], Any]


def amount(value: Decimal) -> str:
    """Return a quantity, price or balance as Binance writes it: eight decimals."""
    return format(value.quantize(UNIT), "f")


@dataclass(frozen=True)
class SpotMarket:
    """A spot symbol of exchangeInfo: its assets and filters."""

    symbol: str
    base: str
    quote: str
    filters: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_info(cls, item: Mapping[str, Any]) -> SpotMarket:
        """Read one entry of exchangeInfo's `symbols`."""
        filters = {entry["filterType"]: entry for entry in item.get("filters", [])}
        return cls(item["symbol"], item["baseAsset"], item["quoteAsset"], filters)

    def value(self, name: str, key: str) -> Decimal:
        """Return a filter's value (0 when the filter or the value is absent)."""
        return Decimal(str(self.filters.get(name, {}).get(key, "0")))


@dataclass
class Balance:
    """One asset of an account."""

    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class AccountTrade:
    """One execution of an account's order."""

    symbol: str
    id: int
    order_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool = False

    def answer(self) -> dict[str, Any]:
        """Return the trade as GET api/v3/myTrades lists it."""
        return {
            "symbol": self.symbol,
            "id": self.id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": amount(self.price),
            "qty": amount(self.qty),
            "quoteQty": amount(self.price * self.qty),
            "commission": amount(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time,
            "isBuyer": self.is_buyer,
            "isMaker": self.is_maker,
            "isBestMatch": True,
        }

    def fill(self) -> dict[str, Any]:
        """Return the trade as an order answer's `fills` lists it."""
        return {
            "price": amount(self.price),
            "qty": amount(self.qty),
            "commission": amount(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.id,
        }


@dataclass
class AccountOrder:
    """One order of an account, with what it locks while it is open."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_time: int = 0
    locked_asset: str | None = None
    locked: Decimal = ZERO
    trades: list[AccountTrade] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Return True while the order rests on the book."""
        return self.status in OPEN

    def answer(self) -> dict[str, Any]:
        """Return the order as GET api/v3/order and api/v3/openOrders answer it."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": amount(self.price),
            "origQty": amount(self.orig_qty),
            "executedQty": amount(self.executed_qty),
            "cummulativeQuoteQty": amount(self.cum_quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": amount(ZERO),
            "icebergQty": amount(ZERO),
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": True,
            "workingTime": self.time,
            "origQuoteOrderQty": amount(self.orig_quote_qty),
            "selfTradePreventionMode": "NONE",
        }

    def result(self, kind: str) -> dict[str, Any]:
        """Return the answer of POST api/v3/order for `newOrderRespType` ACK, RESULT or FULL."""
        ack = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "transactTime": self.time,
        }
        if kind == "ACK":
            return ack
        state = self.answer()
        result = ack | {key: state[key] for key in (*STATE_KEYS, "workingTime")}
        if kind == "FULL":
            result["fills"] = [trade.fill() for trade in self.trades]
        return result


@dataclass
class Account:
    """An emulated spot account: its credentials, balances, orders and trades."""

    api_key: str
    secret: str = field(repr=False)
    balances: dict[str, Balance] = field(default_factory=dict)
    orders: list[AccountOrder] = field(default_factory=list)
    trades: list[AccountTrade] = field(default_factory=list)
    update_time: int = 0

    def balance(self, asset: str) -> Balance:
        """Return an asset's balance, created empty on first use."""
        return self.balances.setdefault(asset, Balance())


class BinanceAccounts:
    """The accounts of one emulated Binance and its signed spot trading routes (`register` adds them to an app)."""

    def __init__(
        self,
        symbols: list[Mapping[str, Any]],
        book: Callable[[str], Mapping[str, Any] | None],
        *,
        fee_rate: Decimal = FEE_RATE,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._symbols = symbols
        self._markets: dict[str, SpotMarket] | None = None
        self._book = book
        self.fee_rate = fee_rate
        self._clock = clock
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._order_ids: dict[str, int] = {}
        self._trade_ids: dict[str, int] = {}

    def register(self, app: VenueApp) -> None:
        """Add the signed /api/v3 routes to `app`."""
        app.route("POST", "api/v3/order", self._signed(self._new_order))
        app.route("GET", "api/v3/order", self._signed(self._query_order))
        app.route("DELETE", "api/v3/order", self._signed(self._cancel_order))
        app.route("GET", "api/v3/openOrders", self._signed(self._open_orders))
        app.route("GET", "api/v3/myTrades", self._signed(self._my_trades))
        app.route("GET", "api/v3/account", self._signed(self._account))

    def open(self, api_key: str, secret: str, balances: Mapping[str, str | float] | None = None) -> Account:
        """Open (or reopen, empty) the account of `api_key`, with free balances per asset; return it."""
        if not KEY_FORMAT.match(api_key):
            raise ValueError("an emulated API key is 1 to 64 letters and digits, as Binance's are")
        if not secret:
            raise ValueError("an emulated account needs a secret")
        account = Account(api_key, secret, update_time=self._clock())
        for asset, free in (balances or {}).items():
            account.balance(asset).free = Decimal(str(free))
        with self._lock:
            self._accounts[api_key] = account
        return account

    def account(self, api_key: str) -> Account:
        """Return the account of `api_key` (its live state: read it, do not change it)."""
        with self._lock:
            if api_key not in self._accounts:
                raise KeyError(f"no emulated account has the API key {api_key[:4]}…")
            return self._accounts[api_key]

    # authentication

    def _signed(self, handler: Signed) -> Callable[[Request], Any]:
        def answer(request: Request) -> Any:
            with self._lock:
                return handler(request, self._authenticate(request))

        return answer

    def _authenticate(self, request: Request) -> Account:
        key = request.headers.get("x-mbx-apikey", "")
        if not KEY_FORMAT.match(key):
            raise ApiError(401, "API-key format invalid.", -2014)
        account = self._accounts.get(key)
        if account is None:
            raise ApiError(401, "Invalid API-key, IP, or permissions for action.", -2015)
        timestamp = request.integer("timestamp")
        if timestamp is None:
            raise _missing("timestamp")
        window = request.integer("recvWindow", DEFAULT_RECV_WINDOW_MS)
        assert window is not None
        if not 0 < window <= MAX_RECV_WINDOW_MS:
            raise ApiError(400, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}", -1131)
        now = self._clock()
        if timestamp > now + AHEAD_MS:
            raise ApiError(400, f"Timestamp for this request was {AHEAD_MS}ms ahead of the server's time.", -1021)
        if now - timestamp > window:
            raise ApiError(400, "Timestamp for this request is outside of the recvWindow.", -1021)
        signature = request.text("signature")
        if not signature:
            raise _missing("signature")
        signed = "&".join(
            pair for pair in (request.raw_query + request.raw_body).split("&") if pair.split("=")[0] != "signature"
        )
        expected = hmac.new(account.secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise ApiError(400, "Signature for this request is not valid.", -1022)
        return account

    # routes

    def _new_order(self, request: Request, account: Account) -> dict[str, Any]:
        new = _parse_new_order(request, self._market(request))
        market, side = new.market, new.side
        if any(o.is_open and o.symbol == market.symbol and o.client_order_id == new.client_id for o in account.orders):
            raise ApiError(400, "Duplicate order sent.", -2010)
        book = self._book(market.symbol)
        if book is None:
            raise ApiError(400, f"emulator: no recorded order book for {market.symbol}", -2010)
        levels = book["asks"] if side == "BUY" else book["bids"]
        limit = new.price if new.kind == "LIMIT" else None
        takes, complete = _walk(levels, side, new.quantity, new.quote_qty, limit, market.value("LOT_SIZE", "stepSize"))
        if new.time_in_force == "FOK" and not complete:
            takes = []
        taken = sum((qty for _, qty in takes), ZERO)
        self._check_notional(new, takes, levels)
        rest = new.quantity - taken if new.rests and new.quantity is not None else ZERO
        lock, holding = (
            (rest * new.price + self._fee(rest * new.price), market.quote) if side == "BUY" else (rest, market.base)
        )
        needed = sum((p * q + self._fee(p * q) for p, q in takes), ZERO) if side == "BUY" else taken
        if account.balance(holding).free < needed + lock:
            raise ApiError(400, "Account has insufficient balance for requested action.", -2010)
        order = self._book_order(account, new, takes, taken)
        if rest:
            order.locked_asset, order.locked = holding, lock
            held = account.balance(holding)
            held.free, held.locked = held.free - lock, held.locked + lock
            order.status = "PARTIALLY_FILLED" if taken else "NEW"
        else:
            order.status = "FILLED" if complete and taken else "EXPIRED"
        return order.result(request.text("newOrderRespType") or "FULL")

    def _book_order(
        self, account: Account, new: NewOrder, takes: list[tuple[Decimal, Decimal]], taken: Decimal
    ) -> AccountOrder:
        now = self._clock()
        symbol = new.market.symbol
        order_id = self._next(self._order_ids, symbol)
        order = AccountOrder(
            symbol=symbol,
            order_id=order_id,
            client_order_id=new.client_id or f"emulator-{symbol.lower()}-{order_id}",
            side=new.side,
            type=new.kind,
            time_in_force=new.time_in_force,
            price=new.price,
            orig_qty=new.quantity if new.quantity is not None else taken,
            orig_quote_qty=new.quote_qty or ZERO,
            time=now,
            update_time=now,
        )
        for price, qty in takes:
            self._execute(account, new.market, order, price, qty, now)
        account.orders.append(order)
        account.update_time = now
        return order

    def _query_order(self, request: Request, account: Account) -> dict[str, Any]:
        return self._find(request, account).answer()

    def _cancel_order(self, request: Request, account: Account) -> dict[str, Any]:
        order = self._find(request, account)
        if not order.is_open:
            raise ApiError(400, "Unknown order sent.", -2011)
        now = self._clock()
        if order.locked_asset is not None:
            held = account.balance(order.locked_asset)
            held.free, held.locked = held.free + order.locked, held.locked - order.locked
            order.locked = ZERO
        order.status, order.update_time = "CANCELED", now
        account.update_time = now
        state = order.answer()
        cancel_id = request.text("newClientOrderId") or f"emulator-cancel-{order.order_id}"
        head = {"symbol": order.symbol, "origClientOrderId": order.client_order_id, "orderId": order.order_id}
        head |= {"orderListId": -1, "clientOrderId": cancel_id, "transactTime": now}
        return head | {key: state[key] for key in STATE_KEYS}

    def _open_orders(self, request: Request, account: Account) -> list[dict[str, Any]]:
        symbol = self._market(request).symbol if request.text("symbol") else None
        return [o.answer() for o in account.orders if o.is_open and symbol in (None, o.symbol)]

    def _my_trades(self, request: Request, account: Account) -> list[dict[str, Any]]:
        symbol = self._market(request).symbol
        start, end = request.integer("startTime"), request.integer("endTime")
        if start is not None and end is not None and end - start > DAY_MS:
            raise ApiError(400, "More than 24 hours between startTime and endTime.", -1127)
        order_id, from_id = request.integer("orderId"), request.integer("fromId")
        if (order_id is not None or from_id is not None) and (start is not None or end is not None):
            raise ApiError(400, "Combination of optional parameters invalid.", -1128)
        limit = bounded_limit(request, "limit", 500, 1000)
        trades = [
            trade
            for trade in account.trades
            if trade.symbol == symbol
            and (order_id is None or trade.order_id == order_id)
            and (from_id is None or trade.id >= from_id)
            and (start is None or trade.time >= start)
            and (end is None or trade.time <= end)
        ]
        chosen = trades[:limit] if start is not None or from_id is not None else trades[-limit:]
        return [trade.answer() for trade in chosen]

    def _account(self, request: Request, account: Account) -> dict[str, Any]:
        rate = amount(self.fee_rate)
        return {
            "makerCommission": int(self.fee_rate * 10_000),
            "takerCommission": int(self.fee_rate * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": rate, "taker": rate, "buyer": amount(ZERO), "seller": amount(ZERO)},
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": account.update_time,
            "accountType": "SPOT",
            "balances": [
                {"asset": asset, "free": amount(held.free), "locked": amount(held.locked)}
                for asset, held in sorted(account.balances.items())
            ],
            "permissions": ["SPOT"],
            "uid": zlib.crc32(account.api_key.encode()),
        }

    # helpers

    def _market(self, request: Request) -> SpotMarket:
        symbol = request.text("symbol")
        if not symbol:
            raise _missing("symbol")
        if self._markets is None:
            self._markets = {item["symbol"]: SpotMarket.from_info(item) for item in self._symbols}
        market = self._markets.get(symbol)
        if market is None:
            raise ApiError(400, "Invalid symbol.", -1121)
        return market

    def _find(self, request: Request, account: Account) -> AccountOrder:
        symbol = self._market(request).symbol
        order_id, client_id = request.integer("orderId"), request.text("origClientOrderId")
        if order_id is None and not client_id:
            raise ApiError(400, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!", -1102)
        for order in reversed(account.orders):
            if order.symbol == symbol and (
                order.order_id == order_id if order_id is not None else order.client_order_id == client_id
            ):
                return order
        raise ApiError(400, "Order does not exist.", -2013)

    def _execute(
        self, account: Account, market: SpotMarket, order: AccountOrder, price: Decimal, qty: Decimal, now: int
    ) -> None:
        quote_amount = price * qty
        fee = self._fee(quote_amount)
        base, quote = account.balance(market.base), account.balance(market.quote)
        if order.side == "BUY":
            base.free += qty
            quote.free -= quote_amount + fee
        else:
            base.free -= qty
            quote.free += quote_amount - fee
        trade = AccountTrade(
            market.symbol,
            self._next(self._trade_ids, market.symbol),
            order.order_id,
            price,
            qty,
            fee,
            market.quote,
            now,
            is_buyer=order.side == "BUY",
        )
        order.trades.append(trade)
        account.trades.append(trade)
        order.executed_qty += qty
        order.cum_quote += quote_amount

    def _check_notional(self, new: NewOrder, takes: list[tuple[Decimal, Decimal]], levels: list[list[str]]) -> None:
        market = new.market
        name = "MIN_NOTIONAL" if "MIN_NOTIONAL" in market.filters else "NOTIONAL"
        if new.kind == "MARKET" and not market.filters.get(name, {}).get("applyToMarket", True):
            return
        if new.kind == "LIMIT" and new.quantity is not None:
            notional = new.price * new.quantity
        elif new.quote_qty is not None:
            notional = new.quote_qty
        else:  # a market order is valued at its average price, or the best price when it takes nothing
            taken = sum((qty for _, qty in takes), ZERO)
            cost = sum((price * qty for price, qty in takes), ZERO)
            reference = cost / taken if taken else Decimal(levels[0][0]) if levels else ZERO
            notional = reference * (new.quantity or ZERO)
        if notional < market.value(name, "minNotional"):
            raise ApiError(400, f"Filter failure: {name}", -1013)

    def _fee(self, quote_amount: Decimal) -> Decimal:
        return (quote_amount * self.fee_rate).quantize(UNIT, rounding=ROUND_UP)

    @staticmethod
    def _next(counters: dict[str, int], symbol: str) -> int:
        counters[symbol] = counters.get(symbol, 0) + 1
        return counters[symbol]


@dataclass(frozen=True)
class NewOrder:
    """A checked POST api/v3/order: `price` is 0 for a market order, one of the two amounts is None."""

    market: SpotMarket
    side: str
    kind: str
    time_in_force: str
    quantity: Decimal | None
    quote_qty: Decimal | None
    price: Decimal
    client_id: str

    @property
    def rests(self) -> bool:
        """Return True when what the book cannot fill now rests on it (a GTC limit order)."""
        return self.kind == "LIMIT" and self.time_in_force == "GTC"


def _side_and_type(request: Request) -> tuple[str, str]:
    side, kind = request.text("side"), request.text("type")
    if not side or not kind:
        raise _missing("side" if not side else "type")
    if side not in ("BUY", "SELL"):
        raise ApiError(400, "Invalid side.", -1117)
    if kind in NOT_EMULATED:
        raise ApiError(400, f"emulator: {kind} orders are not emulated (MARKET and LIMIT are)", -1116)
    if kind not in ("MARKET", "LIMIT"):
        raise ApiError(400, "Invalid orderType.", -1116)
    return side, kind


def _parse_new_order(request: Request, market: SpotMarket) -> NewOrder:
    side, kind = _side_and_type(request)
    quantity, quote_qty = _decimal(request, "quantity"), _decimal(request, "quoteOrderQty")
    price, tif = _decimal(request, "price"), request.text("timeInForce") or ""
    if kind == "MARKET":
        if quantity is None and quote_qty is None:
            raise ApiError(400, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!", -1102)
        if quantity is not None and quote_qty is not None:
            raise ApiError(400, "Parameter 'quoteOrderQty' sent when not required.", -1106)
        price, tif = ZERO, "GTC"
    elif quantity is None or price is None or not tif:
        raise _missing("quantity" if quantity is None else "price" if price is None else "timeInForce")
    elif tif not in ("GTC", "IOC", "FOK"):
        raise ApiError(400, "Invalid timeInForce.", -1115)
    else:
        _check_price(market, price)
    client_id = request.text("newClientOrderId") or ""
    if client_id and not CLIENT_ID_FORMAT.match(client_id):
        raise _illegal("newClientOrderId", CLIENT_ID_RANGE)
    if quantity is not None:
        _check_lot(market, quantity, "MARKET_LOT_SIZE" if kind == "MARKET" else None)
    return NewOrder(market, side, kind, tif, quantity, quote_qty, price, client_id)


def _walk(
    levels: list[list[str]],
    side: str,
    quantity: Decimal | None,
    quote_qty: Decimal | None,
    limit: Decimal | None,
    step: Decimal,
) -> tuple[list[tuple[Decimal, Decimal]], bool]:
    """Return the (price, quantity) taken at each level for `quantity` base units or `quote_qty` quote, and
    whether that completes the order (False: the book, or the levels within the limit price, ran out).
    """
    takes: list[tuple[Decimal, Decimal]] = []
    left_qty, left_quote = quantity, quote_qty
    for raw_price, raw_qty in levels:
        price, available = Decimal(raw_price), Decimal(raw_qty)
        if limit is not None and (price > limit if side == "BUY" else price < limit):
            return takes, False
        if left_qty is not None:
            qty = min(available, left_qty)
            takes.append((price, qty))
            left_qty -= qty
            if left_qty <= 0:
                return takes, True
        else:
            assert left_quote is not None
            qty = min(available, _floor(left_quote / price, step))
            if qty > 0:
                takes.append((price, qty))
                left_quote -= price * qty
            if qty < available:  # what is left buys less than one step here
                return takes, True
    return takes, False


def _floor(value: Decimal, step: Decimal) -> Decimal:
    if step <= 0:
        return value.quantize(UNIT, rounding=ROUND_DOWN)
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def _check_lot(market: SpotMarket, quantity: Decimal, market_filter: str | None) -> None:
    minimum, maximum = market.value("LOT_SIZE", "minQty"), market.value("LOT_SIZE", "maxQty")
    step = market.value("LOT_SIZE", "stepSize")
    if quantity < minimum or (maximum and quantity > maximum) or (step and (quantity - minimum) % step):
        raise ApiError(400, "Filter failure: LOT_SIZE", -1013)
    if market_filter is not None:
        market_max = market.value(market_filter, "maxQty")
        if market_max and quantity > market_max:
            raise ApiError(400, f"Filter failure: {market_filter}", -1013)


def _check_price(market: SpotMarket, price: Decimal) -> None:
    minimum, maximum = market.value("PRICE_FILTER", "minPrice"), market.value("PRICE_FILTER", "maxPrice")
    tick = market.value("PRICE_FILTER", "tickSize")
    if price < minimum or (maximum and price > maximum) or (tick and (price - minimum) % tick):
        raise ApiError(400, "Filter failure: PRICE_FILTER", -1013)


def _decimal(request: Request, name: str) -> Decimal | None:
    raw = request.text(name)
    if raw is None or raw == "":
        return None
    if not NUMBER_FORMAT.match(raw):
        raise _illegal(name, NUMBER_FORMAT.pattern)
    return Decimal(raw)


def _illegal(name: str, legal: str) -> ApiError:
    return ApiError(400, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.", -1100)


def _missing(name: str) -> ApiError:
    return ApiError(400, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.", -1102)
