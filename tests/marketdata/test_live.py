"""`LiveStream` over real ccxt.pro against the websocket emulator: trades, books, gaps, silence, reconnects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import ccxt
import pytest

from traider.alerts.model import Alert
from traider.alerts.no_tick import NoTickMonitor
from traider.marketdata.ccxt_client import make_exchange
from traider.marketdata.emulator import ExchangeEmulator
from traider.marketdata.emulator.data import CRYPTOFEED, read_http_recordings, read_ws_messages
from traider.marketdata.emulator.websocket import BinanceStreamEmulator
from traider.marketdata.live import Backoff, LiveStream
from traider.marketdata.live_book import skips_updates
from traider.marketdata.live_events import Disconnected, GapDetected, LiveEvent, Reconnected, Resynced
from traider.marketdata.live_exchange import make_pro_exchange
from traider.marketdata.orderbook import DepthDiff, OrderBook, rebuild_binance_book
from traider.marketdata.records import BookSnapshot, Stream, Trade

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")
SPEED = 20.0  # the 30 s recording in 1.5 s; NKN/USDT's longest recorded silence (1.3 s) becomes 0.065 s
NKN, BLZ, LRC = "NKN/USDT", "BLZ/ETH", "LRC/BTC"
MARKET_IDS = {NKN: "NKNUSDT", BLZ: "BLZETH", LRC: "LRCBTC"}
DEPTH = 50


@pytest.fixture(scope="module")
def rest(shared_data: Path) -> Iterator[ExchangeEmulator]:
    with ExchangeEmulator(shared_data, venues=["binance"]) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def markets(rest: ExchangeEmulator) -> dict[str, Any]:
    """Binance's spot markets from the HTTP emulator, loaded once (ccxt.pro parses the same exchangeInfo)."""
    loaded: dict[str, Any] = make_exchange("binance", api_base_url=rest.base_url("binance")).load_markets()
    return loaded


@pytest.fixture
def ws(request: pytest.FixtureRequest, shared_data: Path, rest: ExchangeEmulator) -> Iterator[BinanceStreamEmulator]:
    """A websocket emulator replaying at SPEED (or at the speed a test passes as the fixture's param)."""
    speed = getattr(request, "param", SPEED)
    with BinanceStreamEmulator(shared_data, speed=speed, rest_upstream=rest.base_url("binance")) as emulator:
        yield emulator


@dataclass
class Recording:
    """The recorded REST snapshot and depth diffs of each market, read straight from the files."""

    snapshots: dict[str, dict[str, Any]]
    diffs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def book_at(self, market_id: str, sequence: int) -> OrderBook:
        """Return the book rebuilt offline from the snapshot and the diffs up to update id `sequence`."""
        diffs = [diff for diff in self.diffs[market_id] if diff["u"] <= sequence]
        book = rebuild_binance_book(self.snapshots[market_id], diffs)
        assert book.sequence == sequence, f"{sequence} is not an update id the recording ever reached"
        return book

    def last_id(self, market_id: str) -> int:
        return int(self.diffs[market_id][-1]["u"])


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> Recording:
    messages = list(read_ws_messages(shared_data / CRYPTOFEED / "BINANCE.ws.1.0"))
    bodies = read_http_recordings(shared_data / CRYPTOFEED / "BINANCE.http.0.0")
    snapshots = {item.url.split("symbol=")[1].split("&")[0]: item.body for item in bodies}
    result = Recording(snapshots)
    for market_id in snapshots:
        stream = f"{market_id.lower()}@depth@100ms"
        result.diffs[market_id] = [body["data"] for _, body in messages if body.get("stream") == stream]
    return result


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run a coroutine to completion on a fresh event loop, failing after `timeout` seconds."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def pro_exchange(ws: BinanceStreamEmulator, markets: dict[str, Any], **options: Any) -> Any:
    """Return a ccxt.pro binance pointed at the emulators, with the markets already loaded."""
    exchange = make_pro_exchange("binance", rest_base_url=ws.rest_base_url, ws_base_url=ws.ws_base_url)
    exchange.options.update(options)
    exchange.set_markets(markets)
    return exchange


async def next_event(
    stream: LiveStream, seen: list[LiveEvent], until: Callable[[LiveEvent], bool], timeout: float = 5.0
) -> LiveEvent:
    """Collect events into `seen` until one satisfies `until`; return it or fail naming what did arrive."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            event = await asyncio.wait_for(stream.events.get(), max(remaining, 0.001))
        except TimeoutError:
            kinds = [type(item).__name__ for item in seen[-10:]]
            pytest.fail(f"no matching event within {timeout} s; last events: {kinds}")
        seen.append(event)
        if until(event):
            return event


def is_book(symbol: str, sequence: int | None = None) -> Callable[[LiveEvent], bool]:
    def check(event: LiveEvent) -> bool:
        return (
            isinstance(event, BookSnapshot)
            and event.symbol == symbol
            and (sequence is None or event.sequence >= sequence)
        )

    return check


def assert_books_match(recording: Recording, events: list[LiveEvent]) -> int:
    """Assert every book snapshot equals the offline rebuild at its update id and is not crossed; count them."""
    count = 0
    for event in events:
        if not isinstance(event, BookSnapshot):
            continue
        expected = recording.book_at(MARKET_IDS[event.symbol], event.sequence)
        assert event.bids == tuple(expected.bids(DEPTH)), f"bids differ at {event.sequence}"
        assert event.asks == tuple(expected.asks(DEPTH)), f"asks differ at {event.sequence}"
        assert event.bids[0][0] < event.asks[0][0], f"crossed at {event.sequence}"
        count += 1
    return count


def test_live_stream_trades_arrive_normalised_and_deduplicated(
    ws: BinanceStreamEmulator, markets: dict[str, Any]
) -> None:
    ws.duplicate("aggTrade", count=2)  # both recorded trades are sent twice

    async def scenario() -> tuple[list[LiveEvent], LiveStream]:
        seen: list[LiveEvent] = []
        async with LiveStream(pro_exchange(ws, markets), [NKN, LRC], streams=[Stream.TRADES]) as stream:
            await next_event(stream, seen, lambda event: isinstance(event, Trade) and event.symbol == LRC)
            await asyncio.to_thread(ws.finished.wait, 10)
            deadline = time.monotonic() + 5
            while stream.stats.duplicates < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            while not stream.events.empty():
                seen.append(stream.events.get_nowait())
        return seen, stream

    seen, stream = run(scenario())
    assert [event for event in seen if isinstance(event, Trade)] == [
        Trade("binance", NKN, "15683430", datetime(2021, 10, 12, 0, 28, 43, 963000, UTC), 0.3528, 58.0, "buy"),
        Trade("binance", LRC, "9213679", datetime(2021, 10, 12, 0, 28, 54, 486000, UTC), 0.00000638, 177.0, "buy"),
    ]
    assert stream.stats.trades == 2
    assert stream.stats.duplicates == 2
    assert ws.subscriptions == [["nknusdt@aggTrade"], ["lrcbtc@aggTrade"]]


def test_live_stream_book_equals_offline_rebuild_and_is_never_crossed(
    ws: BinanceStreamEmulator, markets: dict[str, Any], recording: Recording
) -> None:
    async def scenario() -> tuple[list[LiveEvent], OrderBook | None]:
        seen: list[LiveEvent] = []
        exchange = pro_exchange(ws, markets)
        async with LiveStream(exchange, [NKN, BLZ], streams=[Stream.BOOK_SNAPSHOTS], book_depth=DEPTH) as stream:
            await next_event(stream, seen, is_book(BLZ, recording.last_id("BLZETH")))
            await next_event(stream, seen, is_book(NKN, recording.last_id("NKNUSDT")))
            whole = stream.book(NKN)
        return seen, whole

    seen, whole = run(scenario())
    assert assert_books_match(recording, seen) >= 10
    assert not any(isinstance(event, GapDetected | Resynced | Disconnected) for event in seen)
    assert whole is not None and whole.sequence == recording.last_id("NKNUSDT")
    expected = recording.book_at("NKNUSDT", recording.last_id("NKNUSDT"))
    assert whole.bids(500) == expected.bids(500) and whole.asks(500) == expected.asks(500)
    assert not whole.is_crossed()


def test_live_stream_dropped_diff_is_a_gap_then_a_fresh_snapshot_fixes_the_book(
    ws: BinanceStreamEmulator, markets: dict[str, Any], recording: Recording
) -> None:
    async def scenario() -> tuple[list[LiveEvent], GapDetected, Resynced]:
        seen: list[LiveEvent] = []
        async with LiveStream(pro_exchange(ws, markets), [NKN], streams=[Stream.BOOK_SNAPSHOTS]) as stream:
            await next_event(stream, seen, is_book(NKN))
            ws.drop_depth("NKNUSDT")
            gap = await next_event(stream, seen, lambda event: isinstance(event, GapDetected))
            resynced = await next_event(stream, seen, lambda event: isinstance(event, Resynced))
            await next_event(stream, seen, is_book(NKN, recording.last_id("NKNUSDT")))
        assert isinstance(gap, GapDetected) and isinstance(resynced, Resynced)
        return seen, gap, resynced

    seen, gap, resynced = run(scenario())
    (dropped,) = ws.dropped
    assert gap.detected_by == "traider"
    assert gap.book_id == dropped.data["U"] - 1  # the book stood just before the dropped diff
    assert gap.first_id == dropped.data["u"] + 1  # and the next diff skipped it
    assert resynced.reason == "gap" and resynced.sequence > dropped.data["u"]
    assert len(ws.depth_requests) == 2  # the first snapshot and the fresh one
    before, between, after = (
        seen[: seen.index(gap)],
        seen[seen.index(gap) : seen.index(resynced)],
        seen[seen.index(resynced) :],
    )
    assert not any(isinstance(event, BookSnapshot) for event in between)  # the book was discarded
    assert assert_books_match(recording, before) >= 1  # correct before the gap
    assert assert_books_match(recording, after) >= 1  # and again from the fresh snapshot on


def test_live_stream_gap_resyncs_even_with_ccxt_checksum_off(
    ws: BinanceStreamEmulator, markets: dict[str, Any], recording: Recording
) -> None:
    async def scenario() -> tuple[list[LiveEvent], LiveEvent]:
        seen: list[LiveEvent] = []
        exchange = pro_exchange(ws, markets, watchOrderBook={"checksum": False})
        async with LiveStream(exchange, [NKN], streams=[Stream.BOOK_SNAPSHOTS]) as stream:
            await next_event(stream, seen, is_book(NKN))
            ws.drop_depth("NKNUSDT")
            resynced = await next_event(stream, seen, lambda event: isinstance(event, Resynced))
            await next_event(stream, seen, is_book(NKN, recording.last_id("NKNUSDT")))
        return seen, resynced

    seen, resynced = run(scenario())
    assert sum(isinstance(event, GapDetected) for event in seen) == 1
    assert assert_books_match(recording, seen[seen.index(resynced) :]) >= 1


def test_ccxt_pro_binance_gap_raises_checksum_error_and_resubscribes(
    ws: BinanceStreamEmulator, markets: dict[str, Any]
) -> None:
    """Document ccxt.pro 4.5.90's own behaviour (no guard): ChecksumError, then a re-subscription and snapshot."""

    async def scenario() -> tuple[BaseException, int]:
        exchange = pro_exchange(ws, markets)
        try:
            await exchange.watch_order_book(NKN)
            ws.drop_depth("NKNUSDT")
            with pytest.raises(ccxt.ChecksumError) as raised:
                for _ in range(100):
                    await exchange.watch_order_book(NKN)
            book = await exchange.watch_order_book(NKN)
            return raised.value, int(book["nonce"])
        finally:
            await exchange.close()

    error, nonce = run(scenario())
    assert "checksum validation failed" in str(error)
    assert nonce > ws.dropped[0].data["u"]
    assert ws.subscriptions == [["nknusdt@depth@100ms"]] * 2 and len(ws.depth_requests) == 2


def test_ccxt_pro_binance_gap_with_checksum_off_freezes_the_book(
    ws: BinanceStreamEmulator, markets: dict[str, Any]
) -> None:
    """Document ccxt.pro 4.5.90 with checksum off (no guard): the gap diff and every later one are ignored."""

    async def scenario() -> tuple[int, int]:
        exchange = pro_exchange(ws, markets, watchOrderBook={"checksum": False})
        try:
            await exchange.watch_order_book(NKN)
            ws.drop_depth("NKNUSDT")
            await asyncio.to_thread(ws.finished.wait, 10)
            return int(exchange.orderbooks[NKN]["nonce"]), len(ws.published_diffs("NKNUSDT"))
        finally:
            await exchange.close()

    nonce, published = run(scenario())
    assert nonce == ws.dropped[0].data["U"] - 1  # stuck just before the dropped diff
    assert published == 150


def test_live_stream_pause_over_threshold_raises_exactly_one_no_tick_alert(
    ws: BinanceStreamEmulator, markets: dict[str, Any]
) -> None:
    alerts: list[tuple[float, Alert]] = []

    async def scenario() -> float:
        seen: list[LiveEvent] = []
        exchange = pro_exchange(ws, markets)

        def record(alert: Alert) -> None:
            alerts.append((time.monotonic(), alert))

        options: dict[str, Any] = {"no_tick_threshold_s": 0.5, "check_interval_s": 0.05, "on_alert": record}
        async with LiveStream(exchange, [NKN], streams=[Stream.BOOK_SNAPSHOTS], **options) as stream:
            await next_event(stream, seen, is_book(NKN))
            paused_at = time.monotonic()
            ws.pause(1.2)
            await next_event(stream, seen, is_book(NKN), timeout=5)  # the first book after the pause
            for _ in range(5):
                await next_event(stream, seen, is_book(NKN))
        return paused_at

    paused_at = run(scenario())
    during = [alert for at, alert in alerts if at > paused_at]
    assert len(during) == 1
    assert during[0].severity == "critical" and during[0].dedup_key == "no_tick:binance:NKN/USDT:book_snapshots"
    assert during[0].context["silence_s"] > 0.5


def test_live_stream_default_threshold_alerts_once_on_a_fast_clock(
    ws: BinanceStreamEmulator, markets: dict[str, Any]
) -> None:
    """The default 5 s threshold, with a clock running five times faster than real time."""
    alerts: list[tuple[float, Alert]] = []
    start = time.monotonic()
    monitor = NoTickMonitor(
        clock=lambda: start + 5 * (time.monotonic() - start), on_alert=lambda a: alerts.append((time.monotonic(), a))
    )
    assert monitor.threshold_s == 5.0

    async def scenario() -> float:
        seen: list[LiveEvent] = []
        exchange = pro_exchange(ws, markets)
        streams = [Stream.BOOK_SNAPSHOTS]
        async with LiveStream(exchange, [NKN], streams=streams, monitor=monitor, check_interval_s=0.05) as stream:
            await next_event(stream, seen, is_book(NKN))
            paused_at = time.monotonic()
            ws.pause(1.5)  # 7.5 s on the monitor's clock
            await next_event(stream, seen, is_book(NKN), timeout=5)
            for _ in range(5):
                await next_event(stream, seen, is_book(NKN))
        return paused_at

    paused_at = run(scenario())
    during = [alert for at, alert in alerts if at > paused_at]
    assert len(during) == 1
    assert 5.0 < during[0].context["silence_s"] < 8.5


@pytest.mark.parametrize("ws", [10.0], indirect=True)  # slower: the stream still runs after the reconnection
def test_live_stream_disconnect_is_followed_by_backoff_and_reconnect(
    ws: BinanceStreamEmulator, markets: dict[str, Any], recording: Recording
) -> None:
    async def scenario() -> list[LiveEvent]:
        seen: list[LiveEvent] = []
        exchange = pro_exchange(ws, markets)
        backoff = Backoff(initial_s=0.05, max_s=0.5)
        async with LiveStream(exchange, [NKN], streams=[Stream.BOOK_SNAPSHOTS], backoff=backoff) as stream:
            await next_event(stream, seen, is_book(NKN))
            ws.refuse(2)  # the first two reconnection attempts are refused
            ws.disconnect()
            await next_event(stream, seen, lambda event: isinstance(event, Reconnected), timeout=10)
            await next_event(stream, seen, is_book(NKN, recording.last_id("NKNUSDT")))
        return seen

    seen = run(scenario())
    failures = [event for event in seen if isinstance(event, Disconnected)]
    assert [(event.failures, event.retry_in_s) for event in failures] == [(1, 0.05), (2, 0.1), (3, 0.2)]
    assert "closing code 1001" in failures[0].error
    (reconnected,) = [event for event in seen if isinstance(event, Reconnected)]
    assert reconnected.failures == 3
    resynced = [event for event in seen if isinstance(event, Resynced)]
    assert [event.reason for event in resynced] == ["reconnect"]
    assert ws.connections_opened == 2 and len(ws.depth_requests) == 2
    assert assert_books_match(recording, seen[seen.index(resynced[0]) :]) >= 1


def test_live_stream_stop_closes_connections(ws: BinanceStreamEmulator, markets: dict[str, Any]) -> None:
    async def scenario() -> tuple[int, int]:
        seen: list[LiveEvent] = []
        stream = LiveStream(pro_exchange(ws, markets), [NKN], streams=[Stream.BOOK_SNAPSHOTS, Stream.TRADES])
        runner = asyncio.create_task(stream.run())
        await next_event(stream, seen, is_book(NKN))
        open_while_running = ws.open_connections()
        await stream.stop()
        await asyncio.wait_for(runner, 5)
        deadline = time.monotonic() + 5
        while ws.open_connections() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return open_while_running, ws.open_connections()

    assert run(scenario()) == (2, 0)  # one connection per ccxt stream, all closed after stop()


class FakeExchange:
    """A stand-in for a ccxt.pro exchange that answers watches from scripted results."""

    id = "fake"

    def __init__(self, trades: list[Any] | None = None, books: list[Any] | None = None) -> None:
        self._trades = list(trades or [])
        self._books = list(books or [])
        self.orderbooks: dict[str, Any] = {}
        self.clients: dict[str, Any] = {}
        self.closed = False

    async def watch_trades(self, symbol: str, since: Any, limit: Any, params: Any) -> Any:
        return await self._next(self._trades)

    async def watch_order_book(self, symbol: str) -> Any:
        return await self._next(self._books)

    async def _next(self, script: list[Any]) -> Any:
        if not script:
            await asyncio.Event().wait()  # nothing more to say: block like a silent stream
        item = script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self) -> None:
        self.closed = True


def ccxt_trade(trade_id: str, ms: int = 1_633_998_523_963) -> dict[str, Any]:
    return {"id": trade_id, "timestamp": ms, "price": 1.5, "amount": 2.0, "side": "sell"}


def test_live_stream_repeated_trade_ids_are_passed_on_once() -> None:
    exchange = FakeExchange(
        trades=[[ccxt_trade("1"), ccxt_trade("2")], [ccxt_trade("2"), ccxt_trade("3")], [ccxt_trade("1")]]
    )

    async def scenario() -> tuple[list[LiveEvent], LiveStream]:
        seen: list[LiveEvent] = []
        async with LiveStream(exchange, ["X/Y"], streams=[Stream.TRADES]) as stream:
            await next_event(stream, seen, lambda event: isinstance(event, Trade) and event.trade_id == "3")
            while stream.stats.duplicates < 2:
                await asyncio.sleep(0.01)
        return seen, stream

    seen, stream = run(scenario(), timeout=5)
    assert [event.trade_id for event in seen if isinstance(event, Trade)] == ["1", "2", "3"]
    assert stream.stats.duplicates == 2 and exchange.closed


def test_live_stream_crossed_book_is_discarded_and_resynced() -> None:
    crossed = {"bids": [[2.0, 1.0]], "asks": [[1.5, 1.0]], "nonce": 10, "timestamp": 1_633_998_523_963}
    good = {"bids": [[1.0, 1.0]], "asks": [[1.5, 1.0]], "nonce": 12, "timestamp": 1_633_998_523_963}
    exchange = FakeExchange(books=[crossed, good])

    async def scenario() -> list[LiveEvent]:
        seen: list[LiveEvent] = []
        async with LiveStream(exchange, ["X/Y"], streams=[Stream.BOOK_SNAPSHOTS]) as stream:
            await next_event(stream, seen, is_book("X/Y"))
        return seen

    gap, resynced, book = run(scenario(), timeout=5)
    assert isinstance(gap, GapDetected) and gap.detail.startswith("crossed book")
    assert isinstance(resynced, Resynced) and resynced.sequence == 12 and resynced.reason == "gap"
    assert isinstance(book, BookSnapshot) and book.bids == ((1.0, 1.0),)


def test_live_stream_network_errors_back_off_exponentially() -> None:
    errors: list[Any] = [ccxt.NetworkError("down"), ccxt.RequestTimeout("slow"), ccxt.NetworkError("down")]
    exchange = FakeExchange(trades=[*errors, [ccxt_trade("1")]])
    backoff = Backoff(initial_s=0.01, multiplier=3.0, max_s=0.05)

    async def scenario() -> list[LiveEvent]:
        seen: list[LiveEvent] = []
        async with LiveStream(exchange, ["X/Y"], streams=[Stream.TRADES], backoff=backoff) as stream:
            await next_event(stream, seen, lambda event: isinstance(event, Reconnected))
        return seen

    seen = run(scenario(), timeout=5)
    delays = [event.retry_in_s for event in seen if isinstance(event, Disconnected)]
    assert delays == [0.01, 0.03, 0.05]
    assert isinstance(seen[-2], Trade) and isinstance(seen[-1], Reconnected) and seen[-1].failures == 3


@pytest.mark.parametrize(
    ("first", "final", "previous", "book_id", "expected"),
    [
        (101, 105, None, 100, False),  # spot: continues the book
        (99, 103, None, 100, False),  # spot: straddles the book (first diff after the snapshot)
        (90, 100, None, 100, False),  # spot: already in the book, dropped by the recipe
        (102, 105, None, 100, True),  # spot: update 101 was missed
        (101, 105, 100, 100, False),  # futures: pu chains to the book
        (99, 103, 95, 100, False),  # futures: straddles the book
        (102, 105, 101, 100, True),  # futures: pu does not chain
    ],
)
def test_skips_updates_binance_rules_detect_only_missed_updates(
    first: int, final: int, previous: int | None, book_id: int, expected: bool
) -> None:
    assert skips_updates(DepthDiff(first, final, previous, (), ()), book_id) is expected


def test_backoff_delay_grows_to_its_cap() -> None:
    assert [Backoff(0.5, 2.0, 3.0).delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
