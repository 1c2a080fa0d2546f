"""The worker's HTTP health endpoint (for Kubernetes probes): `GET /health` answers 200 while heartbeats are
fresh and 503 when the last one is older than the limit, with the worker's status as JSON.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Status = Callable[[], dict[str, Any]]


class HealthServer:
    """A tiny HTTP server in a daemon thread; `status()` must return a dict with `last_heartbeat` (monotonic s)."""

    def __init__(self, status: Status, *, host: str = "127.0.0.1", port: int = 0, stale_after_s: float = 5.0) -> None:
        self._status, self._stale_after_s = status, stale_after_s
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path not in ("/health", "/healthz"):
                    self.send_error(404)
                    return
                code, body = server.report()
                payload = json.dumps(body, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        return int(self._server.server_address[1])

    def report(self) -> tuple[int, dict[str, Any]]:
        """Return the HTTP status and body: 200 with fresh heartbeats, else 503."""
        status = dict(self._status())
        age = time.monotonic() - float(status.pop("last_heartbeat", float("-inf")))
        healthy = age <= self._stale_after_s
        status.update(healthy=healthy, heartbeat_age_s=round(age, 3) if age != float("inf") else None)
        return (200 if healthy else 503), status

    def start(self) -> HealthServer:
        """Start serving in the background; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
