"""Read cryptofeed raw recordings and the values in their messages.

A websocket recording (`BINANCE.ws.1.0`) holds one line per event: `<url> <-> <ts>` when the
connection opens, `<url> <- <ts>: <message>` for what was sent, `<ts>: <message>` for what was
received. An HTTP recording (`BINANCE.http.0.0`) holds `<url> -> <ts>: <body>` per response.
`<ts>` is the recorder's local unix time in seconds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from traider.marketdata.files.loading import read_text

LINE = re.compile(r"^(?:(?P<url>\S+) (?P<direction><->|<-|->) )?(?P<ts>[0-9]+(?:\.[0-9]*)?)(?:: (?P<body>.*))?$")


class BadRecord(ValueError):
    """A raw record (message or level) that cannot be normalised; the message is the reason."""


@dataclass(frozen=True)
class RecordedMessage:
    """One received websocket message or HTTP response body of a recording."""

    line: int
    received_us: int
    url: str | None
    body: str

    def json(self) -> Any:
        """Return the parsed body, or raise `BadRecord`."""
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as error:
            raise BadRecord(f"message is not valid JSON: {error.msg} at column {error.colno}") from None


@dataclass(frozen=True)
class Recording:
    """The received messages of a recording file, plus the lines that are not recording lines at all."""

    messages: tuple[RecordedMessage, ...]
    bad_lines: tuple[tuple[int, str], ...]


def read_recording(path: Path) -> Recording:
    """Return the received messages and HTTP responses of a recording, in file order."""
    messages: list[RecordedMessage] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.match(line)
        if match is None:
            bad.append((number, line))
            continue
        if match["body"] is None or match["direction"] in ("<-", "<->"):
            continue  # connection opened, or a message we sent
        received = round(float(match["ts"]) * 1_000_000)
        messages.append(RecordedMessage(number, received, match["url"], match["body"]))
    return Recording(tuple(messages), tuple(bad))


def price(value: Any, name: str = "price") -> float:
    """Return `value` as a positive finite float, or raise `BadRecord`."""
    number = _float(value, name)
    if not number > 0:
        raise BadRecord(f"{name} not positive")
    return number


def amount(value: Any, name: str = "amount", *, zero: bool = True) -> float:
    """Return `value` as a finite float that is positive (or zero if `zero`), or raise `BadRecord`."""
    number = _float(value, name)
    if number < 0 or (number == 0 and not zero):
        raise BadRecord(f"{name} {'negative' if number < 0 else 'not positive'}")
    return number


def integer(value: Any, name: str) -> int:
    """Return `value` as an int (from int or digit text), or raise `BadRecord`."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRecord(f"{name} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise BadRecord(f"{name} is not an integer") from None


def iso_micros(value: Any, name: str = "time") -> int:
    """Return an ISO 8601 time as epoch microseconds, or raise `BadRecord`."""
    if not isinstance(value, str):
        raise BadRecord(f"{name} is not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadRecord(f"{name} has no time zone")
    return round(moment.timestamp() * 1_000_000)


def levels(entries: Any, name: str) -> list[tuple[float, float]]:
    """Return [[price, amount], ...] entries as float pairs, or raise `BadRecord`."""
    if not isinstance(entries, list):
        raise BadRecord(f"{name} is not a list of levels")
    try:
        return [(price(entry[0]), amount(entry[1])) for entry in entries]
    except (IndexError, TypeError, KeyError):
        raise BadRecord(f"{name} holds a level that is not [price, amount]") from None


def field(data: Any, key: str) -> Any:
    """Return `data[key]`, or raise `BadRecord` naming the missing field."""
    if not isinstance(data, dict) or key not in data:
        raise BadRecord(f"message lacks field {key!r}")
    return data[key]


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRecord(f"{name} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise BadRecord(f"{name} is not a number") from None
    if not math.isfinite(number):
        raise BadRecord(f"{name} is not finite")
    return number


def iter_json(recording: Recording) -> Iterator[tuple[RecordedMessage, Any]]:
    """Yield each message with its parsed JSON body (None when the body is not JSON)."""
    for message in recording.messages:
        try:
            yield message, message.json()
        except BadRecord:
            yield message, None
