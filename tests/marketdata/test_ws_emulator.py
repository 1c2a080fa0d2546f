"""The Binance websocket emulator against a plain aiohttp client: recorded replay, live depth, faults."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from traider.marketdata.emulator import ExchangeEmulator
from traider.marketdata.emulator.data import CRYPTOFEED, read_http_recordings, read_ws_messages
from traider.marketdata.emulator.websocket import BinanceStreamEmulator
from traider.marketdata.orderbook import rebuild_binance_book

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")
FAST = 50.0  # the 30 s recording in 0.6 s


@pytest.fixture(scope="module")
def rest(shared_data: Path) -> Iterator[ExchangeEmulator]:
    with ExchangeEmulator(shared_data, venues=["binance"]) as emulator:
        yield emulator


@pytest.fixture
def make_ws(shared_data: Path, rest: ExchangeEmulator) -> Iterator[Callable[..., BinanceStreamEmulator]]:
    started: list[BinanceStreamEmulator] = []

    def make(speed: float = FAST, **options: Any) -> BinanceStreamEmulator:
        emulator = BinanceStreamEmulator(shared_data, speed=speed, rest_upstream=rest.base_url("binance"), **options)
        emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run a coroutine to completion on a fresh event loop, failing after `timeout` seconds."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def recorded_depth(shared_data: Path, market_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the recorded REST snapshot and depth diffs of one market, read straight from the files."""
    stream = f"{market_id.lower()}@depth@100ms"
    messages = read_ws_messages(shared_data / CRYPTOFEED / "BINANCE.ws.1.0")
    diffs = [body["data"] for _, body in messages if body.get("stream") == stream]
    snapshots = read_http_recordings(shared_data / CRYPTOFEED / "BINANCE.http.0.0")
    snapshot = next(item.body for item in snapshots if f"symbol={market_id}&" in item.url)
    return snapshot, diffs


async def receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> Any:
    frame = await ws.receive(timeout=timeout)
    assert frame.type is aiohttp.WSMsgType.TEXT, f"expected a text frame, got {frame.type!r} {frame.data!r}"
    return json.loads(frame.data)


async def receive_until_finished(ws: aiohttp.ClientWebSocketResponse, emulator: BinanceStreamEmulator) -> list[Any]:
    """Return every message received until the replay has finished and the socket is drained."""
    messages: list[Any] = []
    while True:
        try:
            messages.append(await receive_json(ws, timeout=0.3))
        except TimeoutError:
            if emulator.finished.is_set():
                return messages


def test_ws_emulator_subscribe_acks_and_replays_recorded_diffs_in_order(
    make_ws: Callable[..., BinanceStreamEmulator], shared_data: Path
) -> None:
    emulator = make_ws()
    _, diffs = recorded_depth(shared_data, "BLZETH")

    async def scenario() -> tuple[Any, Any, list[Any]]:
        async with aiohttp.ClientSession() as session, session.ws_connect(emulator.ws_base_url + "/ws/0") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["blzeth@depth@100ms"], "id": 7})
            ack = await receive_json(ws)
            await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
            listed = await receive_json(ws)
            return ack, listed, await receive_until_finished(ws, emulator)

    ack, listed, messages = run(scenario())
    assert ack == {"result": None, "id": 7}
    assert listed == {"result": ["blzeth@depth@100ms"], "id": 8}
    assert messages == diffs  # raw stream: unwrapped payloads, all of them, in recorded order
    assert len(messages) == 10


def test_ws_emulator_combined_stream_wraps_payloads(make_ws: Callable[..., BinanceStreamEmulator]) -> None:
    emulator = make_ws()

    async def scenario() -> list[Any]:
        url = emulator.ws_base_url + "/stream?streams=nknusdt@aggTrade/lrcbtc@aggTrade"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            return await receive_until_finished(ws, emulator)

    messages = run(scenario())
    assert [(item["stream"], item["data"]["a"]) for item in messages] == [
        ("nknusdt@aggTrade", 15683430),
        ("lrcbtc@aggTrade", 9213679),
    ]


def test_ws_emulator_unknown_method_answers_error(make_ws: Callable[..., BinanceStreamEmulator]) -> None:
    emulator = make_ws()

    async def scenario() -> Any:
        async with aiohttp.ClientSession() as session, session.ws_connect(emulator.ws_base_url + "/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE_ALL", "id": 1})
            return await receive_json(ws)

    answer = run(scenario())
    assert answer["id"] == 1 and answer["error"]["code"] == 2


def test_ws_emulator_depth_endpoint_serves_recorded_then_live_book(
    make_ws: Callable[..., BinanceStreamEmulator], shared_data: Path
) -> None:
    emulator = make_ws(autoplay=False)
    snapshot, diffs = recorded_depth(shared_data, "NKNUSDT")
    depth_url = emulator.rest_base_url + "/api/v3/depth?symbol=NKNUSDT&limit=1000"

    async def fetch(session: aiohttp.ClientSession, url: str) -> Any:
        async with session.get(url) as answer:
            assert answer.status == 200
            return await answer.json()

    async def scenario() -> tuple[Any, Any, Any, Any]:
        async with aiohttp.ClientSession() as session:
            before = await fetch(session, depth_url)
            emulator.play()
            await asyncio.to_thread(emulator.finished.wait, 10)
            after = await fetch(session, depth_url)
            info = await fetch(session, emulator.rest_base_url + "/api/v3/exchangeInfo")
            upstream = await fetch(session, f"{emulator.rest_upstream}/api/v3/exchangeInfo")
            return before, after, info, upstream

    before, after, info, upstream = run(scenario())
    assert before["lastUpdateId"] == snapshot["lastUpdateId"] == 499869752
    assert [[float(p), float(a)] for p, a in before["bids"]] == [[float(p), float(a)] for p, a in snapshot["bids"]]
    expected = rebuild_binance_book(snapshot, diffs)
    assert after["lastUpdateId"] == expected.sequence == diffs[-1]["u"]
    assert [(float(p), float(a)) for p, a in after["bids"]] == expected.bids(1000)
    assert [(float(p), float(a)) for p, a in after["asks"]] == expected.asks(1000)
    assert info == upstream  # everything but the live depth comes from the HTTP emulator
    assert emulator.depth_requests == [{"symbol": "NKNUSDT", "limit": "1000"}] * 2


def test_ws_emulator_drop_depth_leaves_a_sequence_hole_but_not_in_the_live_book(
    make_ws: Callable[..., BinanceStreamEmulator], shared_data: Path
) -> None:
    emulator = make_ws()
    _, diffs = recorded_depth(shared_data, "BLZETH")
    emulator.drop_depth("BLZETH")

    async def scenario() -> list[Any]:
        async with aiohttp.ClientSession() as session, session.ws_connect(emulator.ws_base_url + "/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["blzeth@depth@100ms"], "id": 1})
            await receive_json(ws)
            return await receive_until_finished(ws, emulator)

    messages = run(scenario())
    assert messages == diffs[1:]  # the first diff after the subscription was published to nobody
    assert [message.data for message in emulator.dropped] == diffs[:1]
    assert emulator.published_diffs("BLZETH") == diffs


def test_ws_emulator_duplicate_sends_a_message_twice(make_ws: Callable[..., BinanceStreamEmulator]) -> None:
    emulator = make_ws()
    emulator.duplicate("aggTrade")

    async def scenario() -> list[Any]:
        url = emulator.ws_base_url + "/stream?streams=nknusdt@aggTrade/lrcbtc@aggTrade"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            return await receive_until_finished(ws, emulator)

    ids = [item["data"]["a"] for item in run(scenario())]
    assert ids == [15683430, 15683430, 9213679]


def test_ws_emulator_pause_silences_every_stream_then_resumes(make_ws: Callable[..., BinanceStreamEmulator]) -> None:
    emulator = make_ws(speed=20.0)

    async def scenario() -> tuple[list[float], int]:
        arrivals: list[float] = []
        async with aiohttp.ClientSession() as session, session.ws_connect(emulator.ws_base_url + "/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["nknusdt@depth@100ms"], "id": 1})
            await receive_json(ws)
            for _ in range(3):
                await receive_json(ws)
                arrivals.append(time.monotonic())
            emulator.pause(0.8)
            paused_at = time.monotonic()
            while not emulator.finished.is_set() or len(arrivals) < 150:
                try:
                    await receive_json(ws, timeout=2.0)
                except TimeoutError:
                    break
                arrivals.append(time.monotonic())
            later = [at for at in arrivals if at > paused_at]
            return [later[0] - paused_at, *(b - a for a, b in itertools.pairwise(later))], len(arrivals)

    silences, received = run(scenario())
    assert silences[0] >= 0.75  # nothing arrives during the pause
    assert max(silences[1:]) < 0.5  # then the stream resumes at its recorded pace
    assert received == 150  # and nothing was lost


def test_ws_emulator_disconnect_closes_with_going_away(make_ws: Callable[..., BinanceStreamEmulator]) -> None:
    emulator = make_ws()

    async def scenario() -> tuple[aiohttp.WSMsgType, int | None]:
        async with aiohttp.ClientSession() as session, session.ws_connect(emulator.ws_base_url + "/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1})
            await receive_json(ws)
            emulator.disconnect()
            frame = await ws.receive(timeout=5)
            return frame.type, ws.close_code

    kind, code = run(scenario())
    assert kind in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)
    assert code == 1001
    assert emulator.connections_opened == 1


def test_ws_emulator_refuse_answers_handshake_with_503(make_ws: Callable[..., BinanceStreamEmulator]) -> None:
    emulator = make_ws()
    emulator.refuse(1)

    async def scenario() -> tuple[int, Any]:
        async with aiohttp.ClientSession() as session:
            try:
                await session.ws_connect(emulator.ws_base_url + "/ws")
            except aiohttp.WSServerHandshakeError as error:
                status = error.status
            async with session.ws_connect(emulator.ws_base_url + "/ws") as ws:
                await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
                return status, await receive_json(ws)

    status, listed = run(scenario())
    assert status == 503
    assert listed == {"result": [], "id": 1}


def test_ws_emulator_refuses_non_loopback_hosts(shared_data: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        BinanceStreamEmulator(shared_data, host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        BinanceStreamEmulator(shared_data, rest_upstream="http://api.binance.com")
