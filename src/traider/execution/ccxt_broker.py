"""The live broker: market orders to Binance spot through ccxt, each at most once, and the venue's view of the
account for the worker's restart reconciliation.

Enabled only on purpose: `make_live_broker` refuses, with a one-line error naming the setting, unless
`TRAIDER_LIVE_TRADING=enabled` and both `TRAIDER_BINANCE_API_KEY` and `TRAIDER_BINANCE_API_SECRET` are set.
`TRAIDER_EXCHANGE_EMULATOR_URL` (or `api_base_url`) points it at the local exchange emulator instead of Binance.
The key and secret live only in the ccxt client: they are never logged (ccxt's debug log of the request
headers is redacted), and neither the broker's repr nor its errors show them.

At most once. An order goes out under its deterministic client order id, as `venue_client_order_id` makes it
acceptable to Binance ('^[a-zA-Z0-9-_]{1,36}$'; other ids are replaced by a digest of themselves). Before
every send the broker looks that id up (GET api/v3/order by `origClientOrderId`): an order the venue already
has is never sent again, its trades are the fills. A send whose outcome is unknown (timeout, dropped
connection, 5xx or 429: for Binance "the execution status is UNKNOWN") is therefore followed by a look-up, and
by a new send only if the venue never saw the order. The look-up comes before the first send too, because
Binance refuses a client order id only while an order with it is open ("Duplicate order sent.", which the
broker reads as "already sent"): the id of a filled order would be accepted again, e.g. after a restart.

Fills: one per venue trade (`submit`), with fill id "<market id>:<trade id>" (Binance numbers trades per
symbol), the trade's price, quantity and time, its fee in the quote asset (a fee paid in the base asset is
valued at the trade price), liquidity `taker`/`maker`, and slippage against the reference price when one is
given. `execute`, the session's `Broker` protocol (one fill per order), folds them into one fill named
"<market id>:order-<venue order id>". A rejected order (filters, insufficient balance, a quantity below the
lot size) fills nothing: `submit` returns [] and `execute` None, with the venue's reason in `last_rejection`.
Bad credentials, and an outcome still unknown once the retries are used up, raise `LiveBrokerError`: the
worker should stop and reconcile (`reconcile`: open orders, trades since a time, balances) before going on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import ccxt

from traider.backtest.costs.fills import Side
from traider.errors import ConfigurationError, TraiderError
from traider.execution.orders import Fill, Order
from traider.marketdata.ccxt_client import RetryPolicy, call_with_retries, make_exchange, truncated_answer

if TYPE_CHECKING:
    from traider.backtest.costs.model import Book
    from traider.config.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

VENUE = "binance"
CLIENT_ID = re.compile(r"^[a-zA-Z0-9_\-]{1,36}$")
DAY_MS = 86_400_000
PAGE = 1000
MS_NS = 1_000_000
# The venue refusing a new order: it was not placed.
REJECTIONS = (ccxt.InvalidOrder, ccxt.InsufficientFunds, ccxt.BadRequest)
DENIALS = (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)


class LiveTradingRefused(ConfigurationError, ValueError):
    """Live trading is not switched on, or its credentials are missing."""


class LiveBrokerError(TraiderError):
    """The venue refused the credentials, or an order's outcome is still unknown after every retry."""


class _NotSettled(Exception):
    """The venue knows the order but not yet all of its trades, or the order still works: look again later."""


class _RedactedLog:
    """ccxt's logger for one client: its debug log of each request shows the headers, the API key among them."""

    def __init__(self, logger: logging.Logger, hidden: tuple[str, ...]) -> None:
        self._logger = logger
        self._hidden = tuple(text for text in hidden if text)

    def debug(self, message: str, *args: Any, **kwargs: Any) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            text = message % args if args else message
            for hidden in self._hidden:
                text = text.replace(hidden, "<redacted>")
            self._logger.debug("%s", text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


def venue_client_order_id(client_order_id: str) -> str:
    """Return the client order id as sent to Binance: itself when Binance accepts it, else "t-" + 34 hex digits
    of its SHA-256 (deterministic, so a resent order carries the same id).
    """
    if CLIENT_ID.match(client_order_id):
        return client_order_id
    return "t-" + hashlib.sha256(client_order_id.encode()).hexdigest()[:34]


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as the venue reports it; `client_order_id` is the worker's when it was named to `reconcile`."""

    client_order_id: str
    order_id: str
    symbol: str
    side: Side
    status: str
    quantity: float
    filled: float
    price: float | None
    ts: int


@dataclass(frozen=True, slots=True)
class VenueBalance:
    """One asset of the venue account: free, locked in open orders (`used`), and their total."""

    free: float
    used: float
    total: float


@dataclass(frozen=True)
class Reconciliation:
    """What the venue says: open orders, fills since the asked time (oldest first), non-zero balances."""

    open_orders: list[VenueOrder] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    balances: dict[str, VenueBalance] = field(default_factory=dict)


class CcxtBroker:
    """Market orders through a ccxt Binance client, each at most once; see the module docstring."""

    def __init__(
        self, exchange: Any, *, policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.exchange = exchange
        self.policy = policy or RetryPolicy(attempts=6, base_delay_s=0.5, max_delay_s=8.0)
        self.last_rejection: str | None = None
        self._sleep = sleep

    @classmethod
    def connect(
        cls,
        api_key: str,
        secret: str,
        *,
        api_base_url: str | None = None,
        timeout_ms: int = 10_000,
        rate_limit_ms: int | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> CcxtBroker:
        """Return a broker on Binance spot (or on `api_base_url`, e.g. the emulator's Binance) with these keys."""
        exchange = make_exchange(VENUE, api_base_url=api_base_url, timeout_ms=timeout_ms, rate_limit_ms=rate_limit_ms)
        exchange.apiKey, exchange.secret = api_key, secret
        exchange.logger = _RedactedLog(logging.getLogger("ccxt.base.exchange"), (api_key, secret))
        # Only what a spot account needs: no private currency or margin look-ups when loading the markets.
        exchange.options["fetchCurrencies"] = False
        exchange.options["fetchMargins"] = False
        exchange.options["defaultType"] = "spot"
        return cls(exchange, policy=policy, sleep=sleep)

    def __repr__(self) -> str:
        return f"CcxtBroker(venue={self.exchange.id!r}, api={self.exchange.urls['api'].get('private')!r})"

    def execute(self, order: Order, reference_price: float, ts: int, book: Book | None = None) -> Fill | None:
        """Send `order` (the `Broker` protocol): its venue trades folded into one fill, None when nothing filled.

        The book is the venue's own; `ts` is unused (the fill carries the time of the last venue trade).
        """
        placed, fills = self._submit(order, reference_price)
        if placed is None or not fills:
            return None
        quantity = sum(fill.quantity for fill in fills)
        return Fill(
            client_order_id=order.client_order_id,
            fill_id=f"{self._market(order.symbol)['id']}:order-{placed['id']}",
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=sum(fill.price * fill.quantity for fill in fills) / quantity,
            fee=sum(fill.fee for fill in fills),
            slippage=sum(fill.slippage for fill in fills),
            liquidity="taker" if any(fill.liquidity == "taker" for fill in fills) else "maker",
            ts=max(fill.ts for fill in fills),
        )

    def submit(self, order: Order, reference_price: float | None = None) -> list[Fill]:
        """Send `order` as a market order, at most once; return one fill per venue trade ([]: nothing filled)."""
        return self._submit(order, reference_price)[1]

    def reconcile(self, symbols: Iterable[str], since: int, *, client_order_ids: Iterable[str] = ()) -> Reconciliation:
        """Return the venue's open orders and balances, and its fills of `symbols` since `since` (ns, UTC).

        Fills and open orders name the worker's client order id when it is among `client_order_ids`, else the
        venue's. Requests are retried like market-data calls; a failure raises `FetchError`.
        """
        names = {venue_client_order_id(name): name for name in client_order_ids}
        result = Reconciliation()
        for symbol in symbols:
            market = self._market(symbol)
            for raw in self._call(partial(self.exchange.fetch_open_orders, symbol), f"open orders of {symbol}"):
                result.open_orders.append(self._venue_order(raw, names))
            clients: dict[str, str] = {}
            for trade in self._trades_since(symbol, since // MS_NS):
                order_id = str(trade["order"])
                if order_id not in clients:
                    venue_order = self._call(
                        partial(self.exchange.fetch_order, order_id, symbol), f"order {order_id} of {symbol}"
                    )
                    clients[order_id] = str(venue_order["clientOrderId"])
                client = names.get(clients[order_id], clients[order_id])
                side = Side.BUY if trade["side"] == "buy" else Side.SELL
                result.fills.append(self._fill(client, symbol, side, market, trade, None, trade["timestamp"]))
        balance = self._call(self.exchange.fetch_balance, "balances")
        for code, total in balance["total"].items():
            if total:
                free, used = balance["free"].get(code) or 0.0, balance["used"].get(code) or 0.0
                result.balances[code] = VenueBalance(float(free), float(used), float(total))
        result.fills.sort(key=lambda fill: fill.ts)  # stable: each symbol's fills are in venue order already
        return result

    # sending

    def _submit(self, order: Order, reference_price: float | None) -> tuple[dict[str, Any] | None, list[Fill]]:
        self.last_rejection = None
        market = self._market(order.symbol)
        client_id = venue_client_order_id(order.client_order_id)
        try:
            amount = float(self.exchange.amount_to_precision(order.symbol, order.quantity))
        except ccxt.InvalidOrder as error:
            return None, self._reject(order, error)
        last: Exception | None = None
        attempts = self.policy.attempts
        for attempt in range(1, attempts + 1):
            try:
                placed = self._lookup(order, client_id)
                if placed is None:
                    try:
                        placed = self._send(order, client_id, amount)
                    except REJECTIONS as error:  # refused: the venue did not place it
                        if "Duplicate order sent" not in str(error):
                            return None, self._reject(order, error)
                        raise _NotSettled("an open order has the client order id already") from error
                return placed, self._fills_of(order, market, placed, reference_price)
            except DENIALS as error:
                raise LiveBrokerError(
                    f"{VENUE} refused the API key or signature ({_one_line(error)}): check "
                    "TRAIDER_BINANCE_API_KEY and TRAIDER_BINANCE_API_SECRET"
                ) from error
            except (ccxt.NetworkError, ccxt.BadResponse, _NotSettled) as error:
                last = error
            except ccxt.BaseError as error:  # e.g. a refused look-up: the order's state is unknown
                raise LiveBrokerError(
                    f"order {order.client_order_id}: {VENUE} answered {type(error).__name__}: {_one_line(error)} "
                    "(not retried; reconcile before trading on)"
                ) from error
            log.warning(
                "order %s: attempt %d/%d failed (%s: %s); the order is looked up before any resend",
                order.client_order_id,
                attempt,
                attempts,
                type(last).__name__,
                _one_line(last),
            )
            if attempt < attempts:
                self._sleep(self.policy.delay(attempt))
        assert last is not None
        raise LiveBrokerError(
            f"order {order.client_order_id}: outcome unknown after {attempts} attempts "
            f"(last error {type(last).__name__}: {_one_line(last)}); reconcile before trading on"
        ) from last

    def _lookup(self, order: Order, client_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self._guarded(
                lambda: self.exchange.fetch_order(None, order.symbol, {"origClientOrderId": client_id})
            )
        except ccxt.OrderNotFound:
            return None
        if found.get("side") != order.side.value or found.get("symbol") != order.symbol:
            raise LiveBrokerError(
                f"client order id {client_id} names another order at {VENUE}: "
                f"{found.get('side')} {found.get('symbol')}, not {order.side.value} {order.symbol}"
            )
        log.info("order %s: already at %s as order %s", order.client_order_id, VENUE, found.get("id"))
        return found

    def _send(self, order: Order, client_id: str, amount: float) -> dict[str, Any]:
        params = {"newClientOrderId": client_id}
        placed: dict[str, Any] = self._guarded(
            lambda: self.exchange.create_order(order.symbol, "market", order.side.value, amount, None, params)
        )
        log.info(
            "order %s: sent to %s as order %s (%s %s %s)",
            order.client_order_id,
            VENUE,
            placed.get("id"),
            order.side.value,
            amount,
            order.symbol,
        )
        return placed

    def _guarded(self, call: Callable[[], T]) -> T:
        """Run one ccxt call; a truncated or malformed answer raises BadResponse (ccxt passes some silently)."""
        exchange = self.exchange
        exchange.last_http_response = exchange.last_json_response = None
        try:
            result = call()
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
            if truncated_answer(exchange):
                raise ccxt.BadResponse(f"{VENUE} answered malformed or truncated JSON") from error
            raise
        if truncated_answer(exchange):
            raise ccxt.BadResponse(f"{VENUE} answered malformed or truncated JSON")
        return result

    def _reject(self, order: Order, error: Exception) -> list[Fill]:
        self.last_rejection = f"{type(error).__name__}: {_one_line(error)}"
        level = logging.ERROR if isinstance(error, ccxt.InsufficientFunds) else logging.WARNING
        log.log(level, "order %s: not filled, %s refused it (%s)", order.client_order_id, VENUE, self.last_rejection)
        return []

    # fills

    def _fills_of(
        self, order: Order, market: dict[str, Any], placed: dict[str, Any], reference_price: float | None
    ) -> list[Fill]:
        if placed.get("status") == "open":
            raise _NotSettled(f"venue order {placed.get('id')} still works ({placed.get('filled')} filled)")
        filled = float(placed.get("filled") or 0.0)
        if filled <= 0.0:
            log.warning("order %s: venue order %s filled nothing", order.client_order_id, placed.get("id"))
            return []
        trades = [trade for trade in placed.get("trades") or [] if trade.get("id") is not None]
        if not _covers(trades, filled):
            trades = self._order_trades(order.symbol, str(placed["id"]))
        if not _covers(trades, filled):
            raise _NotSettled(f"venue order {placed.get('id')}: trades of {filled} not all visible yet")
        stamp = placed.get("timestamp") or placed.get("lastTradeTimestamp") or 0
        trades.sort(key=lambda trade: _venue_order_key(trade, stamp))
        return [
            self._fill(order.client_order_id, order.symbol, order.side, market, trade, reference_price, stamp)
            for trade in trades
        ]

    def _order_trades(self, symbol: str, order_id: str) -> list[dict[str, Any]]:
        trades: list[dict[str, Any]] = []
        params: dict[str, Any] = {"orderId": order_id}
        while True:
            page = self._guarded(lambda: self.exchange.fetch_my_trades(symbol, None, PAGE, dict(params)))
            trades.extend(page)
            if len(page) < PAGE:
                return trades
            params["fromId"] = int(page[-1]["id"]) + 1

    def _trades_since(self, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """Return the account's trades of `symbol` from `since_ms` on, oldest first (24-hour windows when the
        most recent page does not reach back that far).
        """
        recent = self._call(lambda: self.exchange.fetch_my_trades(symbol, None, PAGE), f"trades of {symbol}")
        if len(recent) < PAGE or recent[0]["timestamp"] <= since_ms:
            recent = sorted(recent, key=lambda trade: _venue_order_key(trade, 0))
            return [trade for trade in recent if trade["timestamp"] >= since_ms]
        seen: dict[str, dict[str, Any]] = {}
        start, stop = since_ms, int(recent[0]["timestamp"])
        while start <= stop:
            end, cursor = min(start + DAY_MS - 1, stop), start
            while True:
                page = self._call(
                    partial(self.exchange.fetch_my_trades, symbol, cursor, PAGE, {"endTime": end}),
                    f"trades of {symbol}",
                )
                fresh = [trade for trade in page if trade["id"] not in seen]
                seen.update((trade["id"], trade) for trade in fresh)
                if len(page) < PAGE or not fresh:
                    break
                cursor = int(page[-1]["timestamp"])
            start = end + 1
        seen.update((trade["id"], trade) for trade in recent)
        return sorted(seen.values(), key=lambda trade: _venue_order_key(trade, 0))

    def _fill(
        self,
        client_order_id: str,
        symbol: str,
        side: Side,
        market: dict[str, Any],
        trade: dict[str, Any],
        reference_price: float | None,
        fallback_ms: int,
    ) -> Fill:
        price, quantity = float(trade["price"]), float(trade["amount"])
        slippage = 0.0
        if reference_price is not None:
            slippage = (
                (price - reference_price) * quantity if side is Side.BUY else (reference_price - price) * quantity
            )
        return Fill(
            client_order_id=client_order_id,
            fill_id=f"{market['id']}:{trade['id']}",
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            fee=self._fee(trade, market, price),
            slippage=slippage,
            liquidity=trade.get("takerOrMaker") or "taker",
            ts=int(trade.get("timestamp") or fallback_ms) * MS_NS,
        )

    @staticmethod
    def _fee(trade: dict[str, Any], market: dict[str, Any], price: float) -> float:
        """Return a trade's fees in the quote asset (a base-asset fee valued at the trade price)."""
        total = 0.0
        for fee in trade.get("fees") or [trade.get("fee")]:
            if not fee or not fee.get("cost"):
                continue
            cost, currency = float(fee["cost"]), fee.get("currency")
            if currency == market["quote"]:
                total += cost
            elif currency == market["base"]:
                total += cost * price
            else:
                log.warning(
                    "trade %s: fee of %s %s is not in %s; booked as 0", trade.get("id"), cost, currency, market["quote"]
                )
        return total

    # helpers

    def _market(self, symbol: str) -> dict[str, Any]:
        if not self.exchange.markets:
            self._call(self.exchange.load_markets, f"{VENUE} markets")
        try:
            market: dict[str, Any] = self.exchange.market(symbol)
        except ccxt.BadSymbol as error:
            raise LiveBrokerError(f"{symbol} is not a {VENUE} spot market") from error
        return market

    def _venue_order(self, raw: dict[str, Any], names: dict[str, str]) -> VenueOrder:
        client = str(raw.get("clientOrderId") or "")
        price = raw.get("price")
        return VenueOrder(
            client_order_id=names.get(client, client),
            order_id=str(raw["id"]),
            symbol=str(raw["symbol"]),
            side=Side.BUY if raw.get("side") == "buy" else Side.SELL,
            status=str(raw.get("status")),
            quantity=float(raw.get("amount") or 0.0),
            filled=float(raw.get("filled") or 0.0),
            price=float(price) if price else None,
            ts=int(raw.get("timestamp") or 0) * MS_NS,
        )

    def _call(self, call: Callable[[], T], what: str) -> T:
        return call_with_retries(call, exchange=self.exchange, what=what, policy=self.policy, sleep=self._sleep)


def make_live_broker(
    settings: Settings | None = None,
    *,
    api_base_url: str | None = None,
    timeout_ms: int = 10_000,
    policy: RetryPolicy | None = None,
) -> CcxtBroker:
    """Return the live Binance spot broker, or refuse (LiveTradingRefused, naming the setting) unless
    `TRAIDER_LIVE_TRADING=enabled` and both Binance API settings are present.

    The venue is `api_base_url`, else the exchange emulator's Binance when `TRAIDER_EXCHANGE_EMULATOR_URL` is
    set, else Binance itself.
    """
    if settings is None:
        from traider.config import get_settings

        settings = get_settings()
    if settings.live_trading != "enabled":
        raise LiveTradingRefused(
            f"live trading is off: TRAIDER_LIVE_TRADING is {settings.live_trading!r}; set it to 'enabled' to send "
            "real orders"
        )
    key, secret = settings.binance_api_key, settings.binance_api_secret
    missing = [
        name
        for name, value in (("TRAIDER_BINANCE_API_KEY", key), ("TRAIDER_BINANCE_API_SECRET", secret))
        if value is None or not value.get_secret_value()
    ]
    if missing or key is None or secret is None:
        raise LiveTradingRefused(f"live trading needs {' and '.join(missing)} (unset or empty)")
    emulator = settings.exchange_emulator_url
    base = api_base_url or (f"{emulator.rstrip('/')}/{VENUE}" if emulator else None)
    log.info("live broker: %s spot at %s", VENUE, base or "the real venue")
    return CcxtBroker.connect(
        key.get_secret_value(), secret.get_secret_value(), api_base_url=base, timeout_ms=timeout_ms, policy=policy
    )


def _covers(trades: list[dict[str, Any]], filled: float) -> bool:
    """Return True when the trades add up to the order's filled quantity."""
    total = sum(float(trade.get("amount") or 0.0) for trade in trades)
    return bool(trades) and abs(total - filled) <= 1e-9 * max(1.0, filled)


def _venue_order_key(trade: dict[str, Any], stamp: int) -> tuple[int, int, str]:
    """Sort key of trades in the venue's order: time, then id (numerically: ccxt sorts the ids as text)."""
    ident = str(trade.get("id"))
    return int(trade.get("timestamp") or stamp), len(ident), ident


def _one_line(error: BaseException, limit: int = 240) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
