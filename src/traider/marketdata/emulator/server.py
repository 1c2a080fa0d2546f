"""The exchange emulator: a loopback HTTP server answering ccxt's public REST calls from recordings.

    with ExchangeEmulator() as emu:
        exchange = ccxt.binance({"urls": {"api": rewritten_to(emu.base_url("binance"))}})
        emu.inject(venue="binance", kind="429", count=2)

Binance's signed spot trading endpoints are served for the accounts given as `accounts={api key: secret}` or
added with `add_account` (see `binance_account`).

Each venue lives under its own prefix (`/binance`, `/binanceusdm`, `/bybit`, `/kraken`, `/coinbase`), so a
ccxt URL is rewritten by replacing its scheme and host with `base_url(venue)` and keeping its path.
Unknown paths answer 404 naming the path. Every request is logged (`requests`) with its answer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from traider.marketdata.emulator.base import Reply, Request, VenueApp
from traider.marketdata.emulator.data import Candle, default_data_dir
from traider.marketdata.emulator.faults import Fault, FaultKind, FaultPlan, RequestRecord

VENUES = ("binance", "binanceusdm", "bybit", "kraken", "coinbase")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def build_apps(data_dir: Path, venues: Iterable[str]) -> dict[str, VenueApp]:
    """Load the recordings of the requested venues; binanceusdm shares Binance's app."""
    from traider.marketdata.emulator.binance import BinanceApp
    from traider.marketdata.emulator.bybit import BybitApp
    from traider.marketdata.emulator.coinbase import CoinbaseApp
    from traider.marketdata.emulator.kraken import KrakenApp

    wanted = set(venues)
    apps: dict[str, VenueApp] = {}
    if wanted & {"binance", "binanceusdm"}:
        binance = BinanceApp(data_dir)
        apps.update({"binance": binance, "binanceusdm": binance})
    if "bybit" in wanted:
        apps["bybit"] = BybitApp(data_dir)
    if "kraken" in wanted:
        apps["kraken"] = KrakenApp(data_dir)
    if "coinbase" in wanted:
        apps["coinbase"] = CoinbaseApp(data_dir)
    return apps


class ExchangeEmulator:
    """A context manager running the emulator in a background thread on a free loopback port."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        venues: Iterable[str] = VENUES,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: Mapping[str, str] | None = None,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"the emulator only listens on loopback, not {host!r}")
        unknown = set(venues) - set(VENUES)
        if unknown:
            raise ValueError(f"unknown emulator venue(s) {sorted(unknown)}; known: {', '.join(VENUES)}")
        self.data_dir = data_dir or default_data_dir()
        self._venues = tuple(venues)
        self._host, self._port = host, port
        self._plan = FaultPlan()
        self._stopping = threading.Event()
        self._apps: dict[str, VenueApp] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._accounts: dict[str, tuple[str, dict[str, str]]] = {
            key: (secret, {}) for key, secret in (accounts or {}).items()
        }

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Load the recordings and start serving."""
        if not self.data_dir.is_dir():
            raise FileNotFoundError(f"shared market data not found at {self.data_dir} (set TRAIDER_SHARED_DATA)")
        self._apps = build_apps(self.data_dir, self._venues)
        for api_key, (secret, balances) in self._accounts.items():
            self._open_account(api_key, secret, balances)
        server = ThreadingHTTPServer((self._host, self._port), _handler_class(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="exchange-emulator", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; requests held by latency or timeout faults are released."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """Return the server's root URL."""
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{self._host}:{self._server.server_port}"

    def base_url(self, venue: str) -> str:
        """Return the base URL that stands in for a venue's API host (a ccxt exchange id)."""
        if venue not in self._apps:
            raise ValueError(f"venue {venue!r} is not served; served: {', '.join(self._apps)}")
        return f"{self.url}/{venue}"

    def inject(
        self,
        venue: str | None = None,
        kind: FaultKind | str = FaultKind.SERVER_ERROR,
        *,
        count: int | None = None,
        duration: float | None = None,
        latency_s: float | None = None,
        status: int = 503,
        path_contains: str | None = None,
    ) -> Fault:
        """Inject a fault for the next `count` requests (default 1) or for `duration` seconds; return it.

        `venue` None hits every venue; `path_contains` narrows it to matching paths; `latency_s` is the delay
        of a latency fault (default 0.5 s) or how long a timeout holds the request (default 30 s); `status`
        is the code of a 5xx fault.
        """
        if venue is not None and venue not in VENUES:
            raise ValueError(f"unknown emulator venue {venue!r}")
        fault_kind = FaultKind(kind)
        if count is None and duration is None:
            count = 1
        default_latency = 30.0 if fault_kind is FaultKind.TIMEOUT else 0.5
        latency = default_latency if latency_s is None else latency_s
        return self._plan.add(Fault(fault_kind, venue, count, duration, latency, status, path_contains))

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._plan.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """Return the log of requests received, oldest first."""
        return self._plan.log()

    def reset_log(self) -> None:
        """Forget the logged requests."""
        self._plan.reset_log()

    def load_klines(self, venue: str, section: str, market_id: str, timeframe: str, candles: list[Candle]) -> None:
        """Serve extra real candles as a venue's kline history (section: spot, fapi, linear, ...)."""
        app: Any = self._apps[venue]
        app.load_klines(section, market_id, timeframe, candles)

    def add_account(self, api_key: str, secret: str, balances: Mapping[str, float | str] | None = None) -> None:
        """Open a Binance spot account (its API key, HMAC secret and starting balances); kept across restarts."""
        self._accounts[api_key] = (secret, {asset: str(amount) for asset, amount in (balances or {}).items()})
        if self._apps:
            self._open_account(api_key, secret, self._accounts[api_key][1])

    def _open_account(self, api_key: str, secret: str, balances: Mapping[str, str]) -> None:
        app: Any = self._apps.get("binance")
        if app is None:
            raise ValueError("accounts need the binance venue, which is not served")
        app.accounts.open(api_key, secret, balances)

    def serves(self, venue: str) -> bool:
        """Return True when the venue is being served."""
        return venue in self._apps

    def answer(self, venue: str, request: Request) -> Reply:
        """Answer a request without faults (what the server sends when no fault applies)."""
        return self._apps[venue].handle(request)

    def app(self, venue: str) -> VenueApp:
        """Return a venue's app."""
        return self._apps[venue]

    @property
    def plan(self) -> FaultPlan:
        """Return the fault plan and request log."""
        return self._plan

    @property
    def stopping(self) -> threading.Event:
        """Return the event set when the emulator stops."""
        return self._stopping


def _handler_class(emulator: ExchangeEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(_EmulatorHandler):
        emu = emulator

    return Handler


class _EmulatorHandler(BaseHTTPRequestHandler):
    emu: ExchangeEmulator
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet: the request log is in `ExchangeEmulator.requests`."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        venue, _, rest = parts.path.lstrip("/").partition("/")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if sent and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            query |= dict(parse_qsl(sent, keep_blank_values=True))
        if not self.emu.serves(venue):
            self._record(venue, rest, query, 404, None)
            self._send(404, json.dumps({"error": f"emulator: unknown venue in path {parts.path}"}).encode())
            return
        fault = self.emu.plan.take(venue, "/" + rest)
        kind = fault.kind if fault else None
        if kind is FaultKind.OUTAGE:
            self._record(venue, rest, query, 0, kind)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind is FaultKind.RATE_LIMIT:
            body = json.dumps(self.emu.app(venue).rate_limit_body()).encode()
            self._record(venue, rest, query, 429, kind)
            self._send(429, body, extra={"Retry-After": "1"})
            return
        if fault is not None and kind is FaultKind.SERVER_ERROR:
            self._record(venue, rest, query, fault.status, kind)
            self._send(fault.status, b"Service Temporarily Unavailable", content_type="text/plain")
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, "/" + rest, query, headers=headers, raw_query=parts.query, raw_body=sent)
        reply = self.emu.answer(venue, request)
        body = json.dumps(reply.body, separators=(",", ":")).encode()
        if kind is FaultKind.TRUNCATED_JSON:
            body = body[: max(1, len(body) // 2)]
        self._record(venue, rest, query, reply.status, kind)
        if fault is not None and kind in (FaultKind.LATENCY, FaultKind.TIMEOUT):
            self.emu.stopping.wait(fault.latency_s)  # logged on arrival, answered late (or to nobody)
        self._send(reply.status, body)

    def _record(self, venue: str, rest: str, query: dict[str, str], status: int, kind: FaultKind | None) -> None:
        host = str(self.client_address[0])
        self.emu.plan.record(
            RequestRecord(venue, self.command, "/" + rest, query, status, kind, time.monotonic(), host)
        )

    def _send(
        self, status: int, body: bytes, *, content_type: str = "application/json", extra: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
