"""cryptofeed raw recordings (`BINANCE.ws.1.0`, `BINANCE.http.0.0`, `COINBASE.ws.28.0`, `BYBIT.ws.25.0`).

The venue is the recording's exchange name in lower case (binance, binance_futures, coinbase ...),
the symbols are the venue's own. Lines that are not recording lines, and messages that are not
JSON, are rejected in every stream read from the file; messages of channels that carry none of the
stored streams (tickers, subscription acknowledgements) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from types import ModuleType
from typing import Any

from traider.marketdata.files import cryptofeed_binance, cryptofeed_bybit, cryptofeed_coinbase
from traider.marketdata.files.base import FileFormatError, FileSource, Identity, Part
from traider.marketdata.files.cryptofeed_output import Output, canonical_frame
from traider.marketdata.files.naming import cryptofeed_name
from traider.marketdata.files.recording import RecordedMessage, Recording, iter_json, read_recording
from traider.marketdata.records import Rejection, Stream

HANDLERS: dict[str, ModuleType] = {
    "binance": cryptofeed_binance,
    "coinbase": cryptofeed_coinbase,
    "bybit": cryptofeed_bybit,
}


class CryptofeedSource(FileSource):
    """A cryptofeed websocket or HTTP recording of Binance, Coinbase or Bybit replayed as a source."""

    format = "cryptofeed"

    def __init__(self, path: Any, **hints: Any) -> None:
        super().__init__(path, **hints)
        named = cryptofeed_name(self.path)
        exchange = named[0] if named else (self.hints.venue or "")
        family = exchange.split("_")[0]
        if family not in HANDLERS:
            raise FileFormatError(
                f"{self.path.name}: cryptofeed recordings of {exchange or 'an unnamed venue'} are not supported "
                f"(supported: {', '.join(sorted(HANDLERS))}; name the file like BINANCE.ws.1.0 or pass venue=)"
            )
        self.handler: ModuleType = HANDLERS[family]
        self.http = named[1] == "http" if named else ".http." in self.path.name

    def identity_from_name(self) -> Identity:
        """Return the venue named by the recording file (BINANCE_FUTURES.ws.1.0 → binance_futures)."""
        named = cryptofeed_name(self.path)
        return Identity(venue=named[0]) if named else Identity()

    @property
    def streams(self) -> frozenset[Stream]:
        """Return the streams the recording can hold."""
        if self.http:
            return frozenset(getattr(self.handler, "HTTP_STREAMS", frozenset()))
        streams: frozenset[Stream] = self.handler.WS_STREAMS
        return streams

    @cached_property
    def recording(self) -> Recording:
        """Return the parsed recording."""
        return read_recording(self.path)

    @cached_property
    def messages(self) -> list[tuple[RecordedMessage, Any]]:
        """Return each received message with its parsed JSON body (None when it is not JSON)."""
        return list(iter_json(self.recording))

    def parts(self, stream: Stream, identity: Identity) -> Iterator[Part]:
        """Yield the whole recording's records of `stream` as one part."""
        venue = identity.require("venue", self.path)
        handle: Callable[..., Iterator[Output]] = self.handler.handle
        rows: list[Any] = []
        rejections = [
            Rejection(self.name, stream, {"line": number, "text": text}, "not a cryptofeed recording line")
            for number, text in self.recording.bad_lines
        ]
        for message, body in self.messages:
            if body is None:
                reason = "message is not valid JSON"
                rejections.append(Rejection(self.name, stream, {"line": message.line, "text": message.body}, reason))
                continue
            for output in handle(message, body):
                if output.stream is not stream:
                    continue
                if output.row is not None:
                    rows.append(output.row)
                else:
                    rejections.append(output.rejection(self.name))
        yield canonical_frame(stream, venue, rows), rejections
