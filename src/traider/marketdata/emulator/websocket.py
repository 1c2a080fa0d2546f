"""A Binance spot market-stream emulator: replays BINANCE.ws.1.0 over loopback websockets, with fault injection.

    with ExchangeEmulator(venues=["binance"]) as rest:
        with BinanceStreamEmulator(rest_upstream=rest.base_url("binance"), speed=10) as ws:
            exchange = make_pro_exchange("binance", rest_base_url=ws.rest_base_url, ws_base_url=ws.ws_base_url)

It runs its own aiohttp server (in a background thread) beside the HTTP `ExchangeEmulator`:

- `ws_base_url` stands in for wss://stream.binance.com:9443 (its path keeps "/stream": ccxt.pro binance tells
  spot connections by it). `/ws` and `/ws/<n>` are raw streams chosen with {"method": "SUBSCRIBE", "params":
  ["nknusdt@depth@100ms"], "id": 1} (answered {"result": null, "id": 1}), UNSUBSCRIBE and LIST_SUBSCRIPTIONS,
  payloads unwrapped as ccxt.pro reads them; `/stream?streams=a/b` sends them wrapped as {"stream", "data"}.
- `rest_base_url` stands in for https://api.binance.com: GET /api/v3/depth of a replayed market answers the live
  book (the recorded snapshot advanced by every diff published so far, so a snapshot taken after a gap bridges
  the next diffs); every other request is forwarded to `rest_upstream` (the HTTP emulator's Binance base URL).

The recorded messages are sent at their recorded offsets divided by `speed`, from the first subscription (or
`play()`), to every connection subscribed to their stream; after the last one the streams stay silent (`finished`).
Faults (thread-safe, effective at once): `drop_depth` publishes the next diff of a market but sends it to nobody
(a sequence gap), `duplicate` sends the next message of an event type twice, `pause` silences every stream for N
seconds (the schedule shifts, nothing is lost), `disconnect` closes every connection with 1001 (going away), and
`refuse` answers the next websocket handshakes with HTTP 503.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from traider.marketdata.emulator.data import default_data_dir
from traider.marketdata.emulator.server import LOOPBACK
from traider.marketdata.emulator.ws_replay import LiveDepth, ReplayMessage, load_messages, load_snapshots

PREFIX = "/binance"
STREAM_HOST = PREFIX + "/stream"
MAX_DEPTH_LIMIT = 5000


class _Connection:
    """One client connection and the streams it is subscribed to."""

    def __init__(self, ws: web.WebSocketResponse, combined: bool, streams: set[str]) -> None:
        self.ws = ws
        self.combined = combined
        self.streams = streams

    async def send(self, message: ReplayMessage) -> None:
        text = message.combined_text() if self.combined else message.raw_text()
        with contextlib.suppress(ConnectionError, RuntimeError):  # closing: the handler forgets the connection
            await self.ws.send_str(text)


class BinanceStreamEmulator:
    """A context manager serving Binance's spot market streams from the recording on a free loopback port."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        speed: float = 1.0,
        rest_upstream: str | None = None,
        autoplay: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the emulator only listens on loopback, not {host!r}")
        if rest_upstream is not None and urlsplit(rest_upstream).hostname not in LOOPBACK:
            raise ValueError(f"the REST upstream must be on loopback, not {rest_upstream!r}")
        if speed <= 0:
            raise ValueError(f"replay speed must be positive, not {speed}")
        self.data_dir = data_dir or default_data_dir()
        self.speed = speed
        self.rest_upstream = rest_upstream.rstrip("/") if rest_upstream else None
        self._autoplay = autoplay
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._messages: list[ReplayMessage] = []
        self._depth: dict[str, LiveDepth] = {}
        self._connections: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._drops: dict[str | None, int] = {}
        self._duplicates: dict[str | None, int] = {}
        self._refusals = 0
        self._base: float | None = None  # monotonic time of replay offset 0
        self._resume_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._playing: asyncio.Event | None = None
        self._publisher: asyncio.Task[None] | None = None
        self.finished = threading.Event()
        self.connections_opened = 0
        self.subscriptions: list[list[str]] = []
        self.depth_requests: list[dict[str, str]] = []
        self.dropped: list[ReplayMessage] = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Load the recording and start serving."""
        self._messages = load_messages(self.data_dir)
        self._depth = {market_id: LiveDepth(body) for market_id, body in load_snapshots(self.data_dir).items()}
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._serve, args=(loop, ready), name="ws-emulator", daemon=True)
        self._thread.start()
        self._port = ready.result(timeout=10)
        self._loop = loop

    def stop(self) -> None:
        """Close every connection and stop serving."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._teardown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    @property
    def url(self) -> str:
        """Return the server's root URL."""
        if self._loop is None:
            raise RuntimeError("the websocket emulator is not running")
        return f"http://{self._host}:{self._port}"

    @property
    def ws_base_url(self) -> str:
        """Return the URL standing in for wss://stream.binance.com:9443 (append /ws or /stream)."""
        return "ws" + self.url.removeprefix("http") + STREAM_HOST

    @property
    def rest_base_url(self) -> str:
        """Return the URL standing in for https://api.binance.com (live depth, the rest from the upstream)."""
        return self.url + PREFIX

    def markets(self) -> list[str]:
        """Return the market ids whose streams are replayed."""
        return sorted({message.market_id for message in self._messages})

    def messages(self) -> list[ReplayMessage]:
        """Return the whole replay script, in order."""
        return list(self._messages)

    def published_diffs(self, market_id: str) -> list[dict[str, Any]]:
        """Return the depth diffs of a market published so far (including dropped ones), oldest first."""
        return self._depth[market_id].published()

    def play(self) -> None:
        """Start the replay clock now (without autoplay, nothing is sent before this)."""
        self._call(self._play)

    def drop_depth(self, market_id: str | None = None, count: int = 1) -> None:
        """Send the next `count` depth diffs of `market_id` (any market if None) to nobody: a sequence gap."""
        with self._lock:
            self._drops[market_id] = self._drops.get(market_id, 0) + count

    def duplicate(self, event: str | None = None, count: int = 1) -> None:
        """Send the next `count` messages of an event type (`aggTrade`, `depthUpdate`; any if None) twice."""
        with self._lock:
            self._duplicates[event] = self._duplicates.get(event, 0) + count

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` from now; what falls due meanwhile is sent afterwards, on a shifted schedule."""
        with self._lock:
            now = time.monotonic()
            if self._base is not None:
                self._base += seconds
            self._resume_at = max(self._resume_at, now + seconds)

    def refuse(self, count: int = 1) -> None:
        """Answer the next `count` websocket handshakes with HTTP 503."""
        with self._lock:
            self._refusals += count

    def disconnect(self) -> None:
        """Close every open connection (close code 1001, going away) without waiting for the handshake."""
        self._call(lambda: asyncio.ensure_future(self._close_all()))

    def open_connections(self) -> int:
        """Return how many clients are connected now."""
        return len(self._connections)

    def _call(self, function: Any) -> None:
        if self._loop is None:
            raise RuntimeError("the websocket emulator is not running")
        self._loop.call_soon_threadsafe(function)

    def _serve(self, loop: asyncio.AbstractEventLoop, ready: concurrent.futures.Future[int]) -> None:
        asyncio.set_event_loop(loop)
        try:
            port = loop.run_until_complete(self._setup())
        except BaseException as error:
            ready.set_exception(error)
            return
        ready.set_result(port)
        loop.run_forever()

    async def _setup(self) -> int:
        app = web.Application()
        app.router.add_get(STREAM_HOST + "/ws", self._websocket)
        app.router.add_get(STREAM_HOST + "/ws/{index}", self._websocket)
        app.router.add_get(STREAM_HOST + "/stream", self._websocket)
        app.router.add_get(PREFIX + "/api/v3/depth", self._depth_answer)
        app.router.add_route("*", PREFIX + "/{tail:.*}", self._proxy)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        if self.rest_upstream is not None:
            self._session = aiohttp.ClientSession()
        self._playing = asyncio.Event()
        self._publisher = asyncio.create_task(self._publish())
        address: Any = self._runner.addresses[0]
        return int(address[1])

    async def _teardown(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
        await self._close_all()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _play(self) -> None:
        with self._lock:
            if self._base is None:
                self._base = max(time.monotonic(), self._resume_at)
        if self._playing is not None:
            self._playing.set()

    async def _publish(self) -> None:
        assert self._playing is not None
        await self._playing.wait()
        for message in self._messages:
            await self._wait_until_due(message.offset_s)
            await self._deliver(message)
        self.finished.set()

    async def _wait_until_due(self, offset_s: float) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                base = self._base if self._base is not None else now
                wait = max(self._resume_at - now, base + offset_s / self.speed - now)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _deliver(self, message: ReplayMessage) -> None:
        targets = [conn for conn in self._connections.values() if message.stream in conn.streams]
        if message.event == "depthUpdate":
            depth = self._depth.get(message.market_id)
            if depth is not None:
                depth.publish(message.data)
            if targets and self._take(self._drops, message.market_id):
                self.dropped.append(message)
                return
        copies = 2 if targets and self._take(self._duplicates, message.event) else 1
        for conn in targets:
            for _ in range(copies):
                await conn.send(message)

    def _take(self, counters: dict[str | None, int], key: str) -> bool:
        with self._lock:
            for candidate in (key, None):
                if counters.get(candidate, 0) > 0:
                    counters[candidate] -= 1
                    return True
        return False

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            refused, self._refusals = self._refusals > 0, max(0, self._refusals - 1)
        if refused:
            return web.json_response({"code": -1, "msg": "emulator: connection refused"}, status=503)
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        combined = request.path.endswith("/stream")
        streams = {name for name in request.query.get("streams", "").split("/") if name} if combined else set()
        number = next(self._ids)
        self._connections[number] = _Connection(ws, combined, streams)
        self.connections_opened += 1
        if streams and self._autoplay:
            self._play()
        try:
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:
                    await self._command(self._connections[number], frame.data)
        finally:
            self._connections.pop(number, None)
        return ws

    async def _command(self, conn: _Connection, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            await conn.ws.send_json({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
            return
        method = request.get("method") if isinstance(request, dict) else None
        ident = request.get("id") if isinstance(request, dict) else None
        params = request.get("params", []) if isinstance(request, dict) else None
        if method in ("SUBSCRIBE", "UNSUBSCRIBE") and isinstance(params, list):
            names = {str(name) for name in params}
            await conn.ws.send_json({"result": None, "id": ident})
            if method == "SUBSCRIBE":
                conn.streams |= names
                self.subscriptions.append(sorted(names))
                if self._autoplay:
                    self._play()
            else:
                conn.streams -= names
        elif method == "LIST_SUBSCRIPTIONS":
            await conn.ws.send_json({"result": sorted(conn.streams), "id": ident})
        else:
            await conn.ws.send_json({"error": {"code": 2, "msg": f"Invalid request: method {method!r}"}, "id": ident})

    async def _close_all(self) -> None:
        connections = list(self._connections.values())
        closing = (conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator: disconnect") for conn in connections)
        await asyncio.gather(*closing, return_exceptions=True)

    async def _depth_answer(self, request: web.Request) -> web.StreamResponse:
        depth = self._depth.get(request.query.get("symbol", ""))
        if depth is None:
            return await self._proxy(request)
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return web.json_response(
                {"code": -1100, "msg": "Illegal characters found in parameter 'limit'."}, status=400
            )
        self.depth_requests.append(dict(request.query))
        return web.json_response(depth.answer(max(1, min(limit, MAX_DEPTH_LIMIT))))

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        if self._session is None or self.rest_upstream is None:
            return web.json_response({"error": f"emulator: no REST upstream for {request.path}"}, status=404)
        target = self.rest_upstream + request.path.removeprefix(PREFIX)
        try:
            async with self._session.request(
                request.method, target, params=request.query, data=await request.read()
            ) as answer:
                body = await answer.read()
                content_type = answer.headers.get("Content-Type", "application/json")
                return web.Response(body=body, status=answer.status, headers={"Content-Type": content_type})
        except aiohttp.ClientError as error:
            return web.json_response({"error": f"emulator: upstream failed: {error}"}, status=502)
