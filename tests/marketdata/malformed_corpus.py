"""A corpus of malformed market-data records, each with the reason it must be quarantined for.

Every mutation is applied to a valid record of its stream in several series, giving well over 200
bad records; each batch also holds valid rows, which must still load.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from traider.marketdata.records import COLUMNS, Stream

Row = dict[str, Any]
VALID_ROWS = 12
START = pd.Timestamp("2024-03-01T00:00:00Z")


@dataclass(frozen=True)
class Mutation:
    name: str
    apply: Callable[[Row, Row], Row]  # (fresh valid record, an earlier valid record) -> malformed record
    reason: str


def _set(**changes: Any) -> Callable[[Row, Row], Row]:
    return lambda row, _earlier: {**row, **changes}


def _scale(factor: float, *columns: str) -> Callable[[Row, Row], Row]:
    return lambda row, _earlier: {**row, **{column: row[column] * factor for column in columns}}


def _duplicate_of_earlier(**changes: Any) -> Callable[[Row, Row], Row]:
    return lambda _row, earlier: {**earlier, **changes}


PRICE = ("open", "high", "low", "close")
MUTATIONS: dict[Stream, list[Mutation]] = {
    Stream.OHLCV: [
        Mutation("nan open", _set(open=math.nan), "open missing"),
        Mutation("nan close", _set(close=math.nan), "close missing"),
        Mutation("inf high", _set(high=math.inf), "high not a positive finite price"),
        Mutation("-inf low", _set(low=-math.inf), "low not a positive finite price"),
        Mutation("negative prices", _set(open=-1.0, high=-0.5, low=-2.0, close=-1.0), "open not a positive finite"),
        Mutation("zero prices", _set(open=0.0, high=0.0, low=0.0, close=0.0), "open not a positive finite"),
        Mutation("high below low", _set(high=90.0, low=110.0, open=100.0, close=100.0), "high below low"),
        Mutation("open above high", _set(open=150.0), "open or close outside"),
        Mutation("close below low", _set(close=50.0), "open or close outside"),
        Mutation("negative volume", _set(volume=-3.0), "volume negative"),
        Mutation("nan volume", _set(volume=math.nan), "volume missing"),
        Mutation("text price", _set(close="one hundred"), "close is not a number"),
        Mutation("missing price", _set(high=None), "high missing"),
        Mutation("missing timestamp", _set(ts=None), "timestamp missing"),
        Mutation("garbage timestamp", _set(ts="yesterday-ish"), "timestamp missing or not a time"),
        Mutation("epoch seconds as ms", _set(ts=pd.Timestamp(1_700_000_000, unit="ms", tz="UTC")), "before 2009"),
        Mutation("duplicate timestamp", _duplicate_of_earlier(volume=7.0), "duplicate"),
        Mutation("bad timeframe", _set(timeframe="minutely"), "timeframe"),
        Mutation("missing venue", _set(venue=None), "venue missing"),
        Mutation("empty symbol", _set(symbol=" "), "symbol missing"),
        Mutation("10x spike up", _scale(10.0, *PRICE), "price jump"),
        Mutation("11x spike down", _scale(1 / 11, *PRICE), "price jump"),
    ],
    Stream.TRADES: [
        Mutation("nan price", _set(price=math.nan), "price missing"),
        Mutation("inf price", _set(price=math.inf), "price not a positive finite"),
        Mutation("zero price", _set(price=0.0), "price not a positive finite"),
        Mutation("negative price", _set(price=-5.0), "price not a positive finite"),
        Mutation("zero amount", _set(amount=0.0), "amount not positive"),
        Mutation("negative amount", _set(amount=-1.0), "amount not positive"),
        Mutation("unknown side", _set(side="hold"), "side not buy or sell"),
        Mutation("missing trade id", _set(trade_id=None), "trade_id missing"),
        Mutation("garbage timestamp", _set(ts="not-a-time"), "timestamp missing or not a time"),
        Mutation("duplicate trade", _duplicate_of_earlier(price=100.9), "duplicate"),
        Mutation("10x spike", _scale(10.0, "price"), "price jump"),
        Mutation("text amount", _set(amount="lots"), "amount is not a number"),
    ],
    Stream.BOOK_DELTAS: [
        Mutation("nan price", _set(price=math.nan), "price missing"),
        Mutation("zero price", _set(price=0.0), "price not a positive finite"),
        Mutation("negative amount", _set(amount=-2.0), "amount negative"),
        Mutation("nan amount", _set(amount=math.nan), "amount missing"),
        Mutation("side named buy", _set(side="buy"), "side not bid or ask"),
        Mutation("fractional sequence", _set(sequence=10.5), "sequence not an integer"),
        Mutation("missing timestamp", _set(ts=None), "timestamp missing"),
        Mutation("10x spike", _scale(10.0, "price"), "price jump"),
    ],
    Stream.BOOK_SNAPSHOTS: [
        Mutation("crossed book", _set(bid_prices=[101.0, 100.0], ask_prices=[100.5, 102.0]), "crossed or locked"),
        Mutation("locked book", _set(bid_prices=[100.5, 100.0], ask_prices=[100.5, 101.0]), "crossed or locked"),
        Mutation("negative level price", _set(bid_prices=[-1.0, -2.0]), "price not positive"),
        Mutation("unpaired levels", _set(bid_amounts=[1.0]), "differ in length"),
        Mutation("non-numeric levels", _set(ask_prices=["a", "b"]), "not lists of numbers"),
        Mutation("negative amount", _set(ask_amounts=[1.0, -1.0]), "amount negative"),
        Mutation("missing sequence", _set(sequence=None), "sequence missing"),
    ],
    Stream.FUNDING_RATES: [
        Mutation("nan rate", _set(rate=math.nan), "rate missing"),
        Mutation("rate above one", _set(rate=1.5), "funding rate not within"),
        Mutation("rate below minus one", _set(rate=-2.0), "funding rate not within"),
        Mutation("negative mark", _set(mark_price=-10.0), "mark_price not a positive"),
        Mutation("infinite index", _set(index_price=math.inf), "index_price not a positive"),
        Mutation("garbage timestamp", _set(ts="soon"), "timestamp missing or not a time"),
        Mutation("duplicate funding", _duplicate_of_earlier(rate=0.0002), "duplicate"),
    ],
}
STEP = {Stream.FUNDING_RATES: pd.Timedelta(hours=8)}


def _valid_row(stream: Stream, series: int, index: int) -> Row:
    ts = START + index * STEP.get(stream, pd.Timedelta(minutes=1))
    base = {"venue": "sim", "symbol": f"CORPUS{series}/USD", "ts": ts}
    price = 100.0 + 0.01 * index
    if stream is Stream.OHLCV:
        return {**base, "timeframe": "1m", "open": price, "high": price + 0.5, "low": price - 0.5, "close": price + 0.1,
                "volume": 2.0}  # fmt: skip
    if stream is Stream.TRADES:
        return {**base, "trade_id": f"t{index}", "price": price, "amount": 0.25, "side": "buy" if index % 2 else "sell"}
    if stream is Stream.BOOK_DELTAS:
        return {**base, "sequence": index, "side": "bid" if index % 2 else "ask", "price": price, "amount": 1.0}
    if stream is Stream.BOOK_SNAPSHOTS:
        return {**base, "sequence": index, "bid_prices": [price - 0.5, price - 1.0], "bid_amounts": [1.0, 2.0],
                "ask_prices": [price + 0.5, price + 1.0], "ask_amounts": [1.5, 2.5]}  # fmt: skip
    return {**base, "rate": 0.0001, "mark_price": price, "index_price": price - 0.05}


@dataclass(frozen=True)
class CorpusBatch:
    stream: Stream
    frame: pd.DataFrame
    expected_reasons: list[str]  # one per malformed record, in row order after the valid rows
    valid_rows: int


def corpus(series_count: int = 4) -> Iterator[CorpusBatch]:
    """Yield one batch per stream and series: valid rows first, then one row per mutation."""
    for stream, mutations in MUTATIONS.items():
        for series in range(series_count):
            valid = [_valid_row(stream, series, index) for index in range(VALID_ROWS)]
            bad = [
                mutation.apply(_valid_row(stream, series, VALID_ROWS + offset), valid[offset % VALID_ROWS])
                for offset, mutation in enumerate(mutations)
            ]
            frame = pd.DataFrame(valid + bad, columns=list(COLUMNS[stream])).astype(object)
            yield CorpusBatch(stream, frame, [mutation.reason for mutation in mutations], VALID_ROWS)


def corpus_size(series_count: int = 4) -> int:
    """Return how many malformed records the corpus holds."""
    return series_count * sum(len(mutations) for mutations in MUTATIONS.values())
