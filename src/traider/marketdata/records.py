"""The normalised market-data record model shared by every source, the loaders and the worker.

Single records are frozen dataclasses (what streams and the worker pass around); batches are pandas
DataFrames with exactly the canonical columns of `COLUMNS` (what sources yield and the bulk writer
loads). Timestamps are timezone-aware UTC; prices and amounts are floats in quote and base units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class Stream(StrEnum):
    """The kinds of market data; each value is also the name of its `market` table."""

    OHLCV = "ohlcv"
    TRADES = "trades"
    BOOK_SNAPSHOTS = "book_snapshots"
    BOOK_DELTAS = "book_deltas"
    FUNDING_RATES = "funding_rates"

    @property
    def table(self) -> str:
        """Return the qualified table the stream is stored in."""
        return f"market.{self.value}"


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle; `ts` is the open time of the interval."""

    venue: str
    symbol: str
    timeframe: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade; `side` is the taker's side, None when the venue does not say."""

    venue: str
    symbol: str
    trade_id: str
    ts: datetime
    price: float
    amount: float
    side: str | None


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A full L2 book at one moment: bids best first (descending), asks best first (ascending)."""

    venue: str
    symbol: str
    ts: datetime
    sequence: int
    bids: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    asks: tuple[tuple[float, float], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class BookDelta:
    """A change of one L2 level: the new amount at `price` (0 removes the level)."""

    venue: str
    symbol: str
    ts: datetime
    sequence: int
    side: str
    price: float
    amount: float


@dataclass(frozen=True, slots=True)
class FundingRate:
    """A perpetual's funding rate for the interval settling at `ts`, with mark and index prices."""

    venue: str
    symbol: str
    ts: datetime
    rate: float
    mark_price: float | None = None
    index_price: float | None = None


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A perpetual's mark (and index) price, streamed to the worker (stored with funding rates)."""

    venue: str
    symbol: str
    ts: datetime
    mark_price: float
    index_price: float | None = None


Record = Bar | Trade | BookSnapshot | BookDelta | FundingRate | MarkPrice

COLUMNS: Mapping[Stream, tuple[str, ...]] = {
    Stream.OHLCV: ("venue", "symbol", "timeframe", "ts", "open", "high", "low", "close", "volume"),
    Stream.TRADES: ("venue", "symbol", "trade_id", "ts", "price", "amount", "side"),
    Stream.BOOK_SNAPSHOTS: (
        "venue",
        "symbol",
        "ts",
        "sequence",
        "bid_prices",
        "bid_amounts",
        "ask_prices",
        "ask_amounts",
    ),
    Stream.BOOK_DELTAS: ("venue", "symbol", "ts", "sequence", "side", "price", "amount"),
    Stream.FUNDING_RATES: ("venue", "symbol", "ts", "rate", "mark_price", "index_price"),
}

NATURAL_KEYS: Mapping[Stream, tuple[str, ...]] = {
    Stream.OHLCV: ("venue", "symbol", "timeframe", "ts"),
    Stream.TRADES: ("venue", "symbol", "trade_id", "ts"),
    Stream.BOOK_SNAPSHOTS: ("venue", "symbol", "ts", "sequence"),
    Stream.BOOK_DELTAS: ("venue", "symbol", "ts", "sequence", "side", "price"),
    Stream.FUNDING_RATES: ("venue", "symbol", "ts"),
}

STREAM_OF: Mapping[type, Stream] = {
    Bar: Stream.OHLCV,
    Trade: Stream.TRADES,
    BookSnapshot: Stream.BOOK_SNAPSHOTS,
    BookDelta: Stream.BOOK_DELTAS,
    FundingRate: Stream.FUNDING_RATES,
}


@dataclass(frozen=True)
class Rejection:
    """A raw record a source could not normalise, kept for quarantine with the reason."""

    source: str
    stream: Stream
    record: Mapping[str, Any]
    reason: str


def record_row(record: Record) -> dict[str, Any]:
    """Return a record as one row of its stream's canonical columns."""
    if isinstance(record, BookSnapshot):
        return {
            "venue": record.venue,
            "symbol": record.symbol,
            "ts": record.ts,
            "sequence": record.sequence,
            "bid_prices": [price for price, _ in record.bids],
            "bid_amounts": [amount for _, amount in record.bids],
            "ask_prices": [price for price, _ in record.asks],
            "ask_amounts": [amount for _, amount in record.asks],
        }
    return asdict(record)


def to_frame(stream: Stream, records: Iterable[Record]) -> pd.DataFrame:
    """Return records of one stream as a DataFrame with exactly the stream's canonical columns."""
    import pandas as pd

    rows = [record_row(record) for record in records]
    frame = pd.DataFrame(rows, columns=list(COLUMNS[stream]))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def empty_frame(stream: Stream) -> pd.DataFrame:
    """Return an empty DataFrame with the stream's canonical columns."""
    return to_frame(stream, [])
