"""The script the websocket emulator replays: cryptofeed's BINANCE.ws.1.0 messages and the venue's live depth.

Messages keep their recorded stream names (`nknusdt@depth@100ms`, `blzeth@aggTrade`, ...) and their offsets
from the first message. `LiveDepth` is what Binance's REST depth endpoint would answer at any moment of the
replay: the recorded BINANCE.http.0.0 snapshot advanced, the documented way, by every diff published so far.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traider.marketdata.emulator.data import CRYPTOFEED, decimal_str, read_http_recordings, read_ws_messages
from traider.marketdata.orderbook import rebuild_binance_book

WS_FILE = "BINANCE.ws.1.0"
DEPTH_FILE = "BINANCE.http.0.0"


@dataclass(frozen=True)
class ReplayMessage:
    """One recorded message: when it is due (seconds after the first), its stream and its payload."""

    offset_s: float
    stream: str
    data: dict[str, Any]

    @property
    def event(self) -> str:
        """Return the payload's event type (`depthUpdate`, `aggTrade`, `kline`) or the stream's channel."""
        return str(self.data.get("e") or self.stream.partition("@")[2])

    @property
    def market_id(self) -> str:
        """Return the venue's market id (`NKNUSDT`)."""
        return str(self.data.get("s", self.stream.partition("@")[0].upper()))

    def raw_text(self) -> str:
        """Return the payload as a raw stream (`/ws`) sends it."""
        return json.dumps(self.data, separators=(",", ":"))

    def combined_text(self) -> str:
        """Return the payload wrapped as a combined stream (`/stream`) sends it."""
        return json.dumps({"stream": self.stream, "data": self.data}, separators=(",", ":"))


class LiveDepth:
    """The current book of one market: the recorded REST snapshot plus the diffs published so far."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self._snapshot = snapshot
        self._diffs: list[dict[str, Any]] = []

    def publish(self, diff: dict[str, Any]) -> None:
        """Advance the book by one published depth diff (sent to clients or not)."""
        self._diffs.append(diff)

    def published(self) -> list[dict[str, Any]]:
        """Return the diffs published so far, oldest first."""
        return list(self._diffs)

    def answer(self, limit: int) -> dict[str, Any]:
        """Return the body of GET /api/v3/depth now: lastUpdateId and the best `limit` levels per side."""
        book = rebuild_binance_book(self._snapshot, self._diffs)
        return {
            "lastUpdateId": book.sequence,
            "bids": [[decimal_str(price), decimal_str(amount)] for price, amount in book.bids(limit)],
            "asks": [[decimal_str(price), decimal_str(amount)] for price, amount in book.asks(limit)],
        }


def load_messages(data_dir: Path) -> list[ReplayMessage]:
    """Return the recorded combined-stream messages of BINANCE.ws.1.0 in order, timed from the first."""
    messages: list[ReplayMessage] = []
    start: float | None = None
    for at, body in read_ws_messages(data_dir / CRYPTOFEED / WS_FILE):
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict) or "stream" not in body:
            continue
        start = at if start is None else start
        messages.append(ReplayMessage(at - start, str(body["stream"]), body["data"]))
    return messages


def load_snapshots(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Return the recorded REST depth snapshots of BINANCE.http.0.0 by market id."""
    snapshots: dict[str, dict[str, Any]] = {}
    for recording in read_http_recordings(data_dir / CRYPTOFEED / DEPTH_FILE):
        market_id = recording.url.split("symbol=")[1].split("&")[0]
        snapshots[market_id] = recording.body
    return snapshots
