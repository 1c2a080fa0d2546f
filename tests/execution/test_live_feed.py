"""The worker on live ticks: real ccxt.pro against the websocket emulator, real PostgreSQL, injected faults.

The emulator replays Binance's recorded NKN/USDT depth stream; the worker builds 1 s bars from the book mids and
trades a strategy that flips between long and short on every bar, so an order is due at every close. Faults:
the venue falls silent (`pause`), and the venue goes down (connections closed, handshakes and REST refused).
Each time: no order goes out on stale data, an alert is stored within seconds, and trading resumes afterwards.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from traider.backtest.costs.fills import Side
from traider.backtest.vectorised import BarCosts
from traider.execution.ccxt_broker import CcxtBroker, venue_client_order_id
from traider.execution.live_feed import TickBars, run_live, store_alerts
from traider.execution.orders import Order
from traider.execution.store import OrderContext
from traider.execution.worker import FixedStrategy, ReconciliationError, Worker, WorkerConfig, WorkerSummary
from traider.marketdata.ccxt_client import make_exchange
from traider.marketdata.emulator import ExchangeEmulator
from traider.marketdata.emulator.websocket import BinanceStreamEmulator
from traider.marketdata.live import Backoff, LiveStream
from traider.marketdata.live_exchange import make_pro_exchange
from traider.marketdata.records import Stream
from traider.risk.pretrade import PreTradeLimits
from traider.strategies.base import Bar, Strategy

pytestmark = pytest.mark.timeout(120)

SYMBOL = "NKN/USDT"
SECOND = 10**9


class _FlipStream:
    def __init__(self) -> None:
        self.sign = -1.0

    def update(self, bar: Bar) -> float:
        self.sign = -self.sign
        return self.sign


class Flip(Strategy):
    """Long on one bar, short on the next: an order at every close."""

    name: ClassVar[str] = "flip"

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        return bars

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        return pd.Series([1.0 if number % 2 == 0 else -1.0 for number in range(len(frame))], index=frame.index)

    def stream(self) -> _FlipStream:
        return _FlipStream()


def test_tick_bars_close_on_the_clock_and_carry_the_last_price_through_silence() -> None:
    bars = TickBars(SECOND)
    assert bars.tick(10.0, 1.0, 5 * SECOND + 100) == []
    assert bars.tick(12.0, 2.0, 5 * SECOND + 200) == []
    assert bars.tick(9.0, 0.0, 5 * SECOND + 900) == []
    assert bars.next_close(5 * SECOND + 950) == 6 * SECOND
    closed = bars.tick(11.0, 1.0, 8 * SECOND + 1)  # bars 5 and the silent 6 and 7 close before this tick
    assert closed == [
        Bar(5 * SECOND, 10.0, 12.0, 9.0, 9.0, 3.0),
        Bar(6 * SECOND, 9.0, 9.0, 9.0, 9.0, 0.0),
        Bar(7 * SECOND, 9.0, 9.0, 9.0, 9.0, 0.0),
    ]
    assert bars.due(9 * SECOND - 1) == []
    assert bars.due(9 * SECOND) == [Bar(8 * SECOND, 11.0, 11.0, 11.0, 11.0, 1.0)]
    assert TickBars(SECOND).due(10**12) == []  # nothing before the first tick


@pytest.fixture(scope="module")
def rest(shared_data: Path) -> Iterator[ExchangeEmulator]:
    with ExchangeEmulator(shared_data, venues=["binance"]) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def markets(rest: ExchangeEmulator) -> dict[str, Any]:
    loaded: dict[str, Any] = make_exchange("binance", api_base_url=rest.base_url("binance")).load_markets()
    return loaded


class LongFlat(Flip):
    """Long on one bar, flat on the next (spot: nothing to sell short)."""

    name: ClassVar[str] = "long_flat"

    def stream(self) -> _FlipStream:
        return _LongFlatStream()


class _LongFlatStream(_FlipStream):
    def update(self, bar: Bar) -> float:
        return (super().update(bar) + 1.0) / 2.0


def _config(mode: Literal["paper", "live"] = "paper") -> WorkerConfig:
    return WorkerConfig(
        venue="binance",
        symbol=SYMBOL,
        costs=BarCosts(fee_rate=0.001, slippage_bps=2.0),
        timeframe="1s",
        mode=mode,
        limits=PreTradeLimits.for_mode("paper"),
        kill_switch_poll_s=0.0,
    )


class LiveRun:
    """The worker's live loop on a thread of its own, stopped at the end of the test."""

    def __init__(
        self,
        engine: Engine,
        ws: BinanceStreamEmulator,
        markets: dict[str, Any],
        *,
        strategy: Strategy | None = None,
        broker: CcxtBroker | None = None,
    ) -> None:
        config = _config("paper" if broker is None else "live")
        self.worker = Worker(config, engine, FixedStrategy(strategy or Flip()), broker=broker)
        exchange = make_pro_exchange("binance", rest_base_url=ws.rest_base_url, ws_base_url=ws.ws_base_url)
        exchange.set_markets(markets)
        self.stream = LiveStream(
            exchange,
            [SYMBOL],
            streams=(Stream.BOOK_SNAPSHOTS,),
            on_alert=store_alerts(engine),
            backoff=Backoff(initial_s=0.2, max_s=1.0),
        )
        self.stop = threading.Event()
        self.summary: WorkerSummary | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.summary = asyncio.run(run_live(self.worker, self.stream, self.stop))
        except BaseException as error:
            self.error = error

    def __enter__(self) -> LiveRun:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def finish(self) -> WorkerSummary:
        self.stop.set()
        self.thread.join(timeout=30)
        assert self.error is None, repr(self.error)
        assert self.summary is not None
        return self.summary


def _orders(engine: Engine) -> list[datetime]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT created_at FROM trading.orders ORDER BY created_at")).scalars())


def _wait_for_orders(engine: Engine, count: int, timeout: float, after: datetime | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len([at for at in _orders(engine) if after is None or at > after]) >= count:
            return
        time.sleep(0.1)
    pytest.fail(f"fewer than {count} orders within {timeout} s")


def _no_tick_alerts(engine: Engine) -> list[datetime]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT raised_at FROM ops.alerts WHERE message LIKE '%no tick%' ORDER BY raised_at")
            ).scalars()
        )


def _assert_traded_against_the_book(engine: Engine) -> None:
    with engine.connect() as connection:
        unfilled = connection.execute(
            text(
                "SELECT count(*) FROM trading.orders o WHERE NOT EXISTS (SELECT 1 FROM trading.fills f WHERE f.order_id = o.id)"
            )
        ).scalar_one()
        prices = connection.execute(text("SELECT DISTINCT price FROM trading.fills")).scalars().all()
    assert unfilled == 0
    assert len(prices) > 1


def test_a_silent_venue_stops_orders_raises_an_alert_and_trading_resumes(
    clean_tables: Engine, app_engine: Engine, shared_data: Path, rest: ExchangeEmulator, markets: dict[str, Any]
) -> None:
    with (
        BinanceStreamEmulator(shared_data, speed=1.0, rest_upstream=rest.base_url("binance")) as ws,
        LiveRun(app_engine, ws, markets) as live,
    ):
        _wait_for_orders(clean_tables, 3, timeout=20)
        silent_from = datetime.now(UTC)
        ws.pause(8.0)
        time.sleep(8.0)
        back_at = datetime.now(UTC)
        _wait_for_orders(clean_tables, 3, timeout=15, after=back_at)
        summary = live.finish()
    stale = [at for at in _orders(clean_tables) if silent_from + pd.Timedelta(seconds=5.5) < at < back_at]
    assert stale == [], "orders went out on data older than 5 s"
    assert any("stale market data" in reason for reason in summary.refusals)
    alerts = [at for at in _no_tick_alerts(clean_tables) if at > silent_from]
    assert alerts, "no alert for the silent venue"
    assert (alerts[0] - silent_from).total_seconds() <= 7.0  # 5 s of silence, checked every second
    _assert_traded_against_the_book(clean_tables)


def test_a_venue_outage_with_refused_reconnects_and_5xx_is_held_through_and_trading_resumes(
    clean_tables: Engine, app_engine: Engine, shared_data: Path, rest: ExchangeEmulator, markets: dict[str, Any]
) -> None:
    with (
        BinanceStreamEmulator(shared_data, speed=1.0, rest_upstream=rest.base_url("binance")) as ws,
        LiveRun(app_engine, ws, markets) as live,
    ):
        _wait_for_orders(clean_tables, 3, timeout=20)
        down_from = datetime.now(UTC)
        ws.refuse(6)  # handshakes answered 503 while the venue is down
        rest.inject("binance", "5xx", count=3)  # and its REST depth snapshots too
        ws.pause(7.0)
        ws.disconnect()
        time.sleep(7.0)
        back_at = datetime.now(UTC)
        _wait_for_orders(clean_tables, 2, timeout=20, after=back_at)
        summary = live.finish()
    stale = [at for at in _orders(clean_tables) if down_from + pd.Timedelta(seconds=5.5) < at < back_at]
    assert stale == [], "orders went out on data older than 5 s"
    assert any("stale market data" in reason for reason in summary.refusals)
    assert [at for at in _no_tick_alerts(clean_tables) if at > down_from]
    assert live.stream.stats.reconnects >= 1
    _assert_traded_against_the_book(clean_tables)


API_KEY, API_SECRET = "liveWorkerKey1", "liveWorkerSecret1"


def _venue_account(rest: ExchangeEmulator) -> Any:
    app: Any = rest.app("binance")
    return app.accounts.account(API_KEY)


def test_live_mode_trades_through_the_ccxt_broker_and_a_restart_reconciles_with_the_venue(
    clean_tables: Engine, app_engine: Engine, shared_data: Path, rest: ExchangeEmulator, markets: dict[str, Any]
) -> None:
    rest.add_account(API_KEY, API_SECRET, {"USDT": 10_000})
    connect = lambda: CcxtBroker.connect(API_KEY, API_SECRET, api_base_url=rest.base_url("binance"))  # noqa: E731
    with (
        BinanceStreamEmulator(shared_data, speed=1.0, rest_upstream=rest.base_url("binance")) as ws,
        LiveRun(app_engine, ws, markets, strategy=LongFlat(), broker=connect()) as live,
    ):
        _wait_for_orders(clean_tables, 4, timeout=25)
        live.finish()
    account = _venue_account(rest)
    with clean_tables.connect() as connection:
        stored = connection.execute(
            text("SELECT client_order_id, filled_quantity, status FROM trading.orders ORDER BY id")
        ).all()
        position = connection.execute(text("SELECT quantity FROM trading.positions")).scalar_one()
    at_venue = {order.client_order_id: order for order in account.orders}
    assert len(at_venue) == len(account.orders)  # no client id twice at the venue
    sent = {venue_client_order_id(order_id): (float(filled), status) for order_id, filled, status in stored}
    assert set(at_venue) <= set(sent)  # every venue order is one the worker stored first
    assert sum(filled > 0 for filled, _ in sent.values()) >= 3
    for venue_id, (filled, status) in sent.items():
        assert status in ("filled", "canceled")
        if venue_id in at_venue:
            assert float(at_venue[venue_id].executed_qty) == pytest.approx(filled, rel=1e-12)
        else:  # refused by the venue (its filters, e.g. MIN_NOTIONAL on a dust order): stored, closed, unfilled
            assert (filled, status) == (0.0, "canceled")
    assert float(position) == pytest.approx(float(account.balance("NKN").free), rel=1e-12)

    Worker(_config("live"), app_engine, FixedStrategy(LongFlat()), broker=connect()).open()  # reconciles: no error

    decided = time.time_ns()  # the worker stored an order and died after sending it, before booking its fill
    lost = Order(f"live-binance-{SYMBOL}-{decided}", SYMBOL, Side.BUY, 500.0, decided, 1.0)
    worker = Worker(_config("live"), app_engine, FixedStrategy(LongFlat()), broker=connect())
    worker.store.record_order(lost, OrderContext(strategy="long_flat"))
    connect().submit(lost)
    worker.open()  # settles it: the venue's fill is booked, nothing is sent twice
    assert (
        len(
            [o for o in _venue_account(rest).orders if o.client_order_id == venue_client_order_id(lost.client_order_id)]
        )
        == 1
    )
    assert worker.store.order_state(lost.client_order_id) == ("filled", pytest.approx(500.0))

    connect().exchange.create_order(SYMBOL, "market", "buy", 300.0)  # someone trades the account by hand
    with pytest.raises(ReconciliationError, match="does not hold"):
        Worker(_config("live"), app_engine, FixedStrategy(LongFlat()), broker=connect()).open()
    with clean_tables.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM ops.alerts WHERE message LIKE 'reconciliation failed%'")
            ).scalar_one()
            == 1
        )
