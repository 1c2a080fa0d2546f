"""The L2 order book and Binance's snapshot-plus-diffs rebuild, on real cryptofeed recordings."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from traider.marketdata.files import open_file_source
from traider.marketdata.files.recording import iter_json, read_recording
from traider.marketdata.orderbook import DepthDiff, OrderBook, SequenceGapError, rebuild_binance_book
from traider.marketdata.records import Stream

SAMPLES = "cryptofeed/sample_data"
BINANCE_PAIRS = ("NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR")


Session = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]


def _binance_session(shared_data: Path, exchange: str) -> dict[str, Session]:
    """Return, per symbol, the REST depth snapshot, the depth diffs and the bookTicker updates of a recording."""
    snapshots = {
        parse_qs(urlparse(message.url or "").query)["symbol"][0]: body
        for message, body in iter_json(read_recording(shared_data / SAMPLES / f"{exchange}.http.0.0"))
    }
    diffs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tickers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, body in iter_json(read_recording(shared_data / SAMPLES / f"{exchange}.ws.1.0")):
        data = body["data"]
        if data.get("e") == "depthUpdate":
            diffs[data["s"]].append(data)
        elif body["stream"].endswith("@bookTicker"):
            tickers[data["s"]].append(data)
    return {symbol: (snapshot, diffs[symbol], tickers[symbol]) for symbol, snapshot in snapshots.items()}


def test_order_book_snapshot_and_deltas_keep_levels_sorted_best_first() -> None:
    book = OrderBook()
    book.apply_snapshot([(99.0, 1.0), (100.0, 2.0), (98.0, 0.0)], [(101.0, 1.5), (102.0, 3.0)], sequence=7)
    assert book.best_bid() == 100.0 and book.best_ask() == 101.0 and book.sequence == 7
    assert book.depth() == (2, 2)  # the zero-amount level is left out
    book.apply_delta("bid", 100.5, 4.0, sequence=8)
    book.apply_delta("ask", 101.0, 0.0)
    book.apply_delta("ask", 100.75, 1.0)
    book.apply_delta("ask", 200.0, 0.0)  # removing an absent level changes nothing
    assert book.bids(5) == [(100.5, 4.0), (100.0, 2.0), (99.0, 1.0)]
    assert book.asks(2) == [(100.75, 1.0), (102.0, 3.0)]
    assert book.amount("ask", 101.0) == 0.0 and book.sequence == 8
    assert not book.is_crossed() and not book.is_locked()


def test_order_book_crossed_and_locked_books_are_detected() -> None:
    book = OrderBook()
    book.apply_snapshot([(100.0, 1.0)], [(101.0, 1.0)])
    book.apply_delta("bid", 101.0, 1.0)
    assert book.is_locked() and not book.is_crossed()
    book.apply_delta("bid", 101.5, 1.0)
    assert book.is_crossed()
    assert OrderBook().best_bid() is None and not OrderBook().is_crossed()


def test_order_book_unknown_side_is_refused() -> None:
    with pytest.raises(ValueError, match="side must be 'bid' or 'ask'"):
        OrderBook().apply_delta("buy", 1.0, 1.0)
    with pytest.raises(ValueError, match="side must be 'bid' or 'ask'"):
        OrderBook().apply_deltas(["bid", "sell"], [1.0, 2.0], [1.0, 1.0])


@given(
    st.lists(
        st.tuples(st.sampled_from(["bid", "ask"]), st.integers(1, 60), st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        max_size=200,
    )
)
def test_order_book_matches_a_plain_dict_model_whatever_the_deltas(deltas: list[tuple[str, int, float]]) -> None:
    book, batched = OrderBook(), OrderBook()
    model: dict[str, dict[float, float]] = {"bid": {}, "ask": {}}
    for side, tick, amount in deltas:
        price = tick / 4
        book.apply_delta(side, price, amount)
        if amount > 0:
            model[side][price] = amount
        else:
            model[side].pop(price, None)
    batched.apply_deltas([d[0] for d in deltas], [d[1] / 4 for d in deltas], [d[2] for d in deltas])
    for candidate in (book, batched):
        assert candidate.bids(100) == sorted(model["bid"].items(), reverse=True)
        assert candidate.asks(100) == sorted(model["ask"].items())
        assert candidate.best_bid() == max(model["bid"], default=None)
        assert candidate.best_ask() == min(model["ask"], default=None)


@pytest.mark.parametrize("symbol", BINANCE_PAIRS)
def test_rebuild_binance_book_spot_snapshot_and_diffs_stay_uncrossed_and_match_book_ticker(
    shared_data: Path, symbol: str
) -> None:
    snapshot, diffs, tickers = _binance_session(shared_data, "BINANCE")[symbol]
    last_id = snapshot["lastUpdateId"]
    kept = [diff for diff in diffs if diff["u"] > last_id]
    assert kept and kept[0]["U"] <= last_id + 1 <= kept[0]["u"]  # the README's update-id bridge
    ticker_at = {ticker["u"]: ticker for ticker in tickers}
    applied: list[int] = []
    checked: list[int] = []

    def check(book: OrderBook, diff: DepthDiff) -> None:
        applied.append(diff.final_id)
        assert not book.is_crossed() and not book.is_locked(), diff
        if (ticker := ticker_at.get(diff.final_id)) is not None:  # bookTicker at the same update id
            assert (book.best_bid(), book.best_ask()) == (float(ticker["b"]), float(ticker["a"]))
            checked.append(diff.final_id)

    book = rebuild_binance_book(snapshot, diffs, on_diff=check)
    assert applied == [diff["u"] for diff in kept]
    assert book.sequence == diffs[-1]["u"]
    assert symbol == "RUNEEUR" or checked  # every pair but RUNEEUR has bookTickers at diff ids


def test_rebuild_binance_book_applies_levels_of_the_last_diff(shared_data: Path) -> None:
    snapshot, diffs, _ = _binance_session(shared_data, "BINANCE")["NKNUSDT"]
    book = rebuild_binance_book(snapshot, diffs)
    for price, amount in diffs[-1]["a"]:
        assert book.amount("ask", float(price)) == float(amount)


@pytest.mark.parametrize("symbol", BINANCE_PAIRS[:3])
def test_rebuild_binance_book_dropping_a_middle_diff_raises_sequence_gap(shared_data: Path, symbol: str) -> None:
    snapshot, diffs, _ = _binance_session(shared_data, "BINANCE")[symbol]
    kept = [diff for diff in diffs if diff["u"] > snapshot["lastUpdateId"]]
    missing = kept[len(kept) // 2]
    following = kept[len(kept) // 2 + 1]
    with pytest.raises(SequenceGapError) as error:
        rebuild_binance_book(snapshot, [diff for diff in diffs if diff is not missing])
    message = str(error.value)
    assert f"U={following['U']}" in message and f"u={missing['U'] - 1}" in message


def test_rebuild_binance_book_first_diff_not_bridging_the_snapshot_raises(shared_data: Path) -> None:
    snapshot, diffs, _ = _binance_session(shared_data, "BINANCE")["NKNUSDT"]
    bridge = next(index for index, diff in enumerate(diffs) if diff["u"] > snapshot["lastUpdateId"])
    with pytest.raises(SequenceGapError, match=f"lastUpdateId={snapshot['lastUpdateId']}"):
        rebuild_binance_book(snapshot, diffs[bridge + 1 :])


@pytest.mark.parametrize("exchange", ["BINANCE_US", "BINANCE_FUTURES", "BINANCE_DELIVERY"])
def test_rebuild_binance_book_other_binance_venues_rebuild_every_pair(shared_data: Path, exchange: str) -> None:
    for symbol, (snapshot, diffs, _) in _binance_session(shared_data, exchange).items():
        crossed: list[int] = []

        def check(book: OrderBook, diff: DepthDiff, crossed: list[int] = crossed) -> None:
            if book.is_crossed() or book.is_locked():
                crossed.append(diff.final_id)

        book = rebuild_binance_book(snapshot, diffs, on_diff=check)
        assert crossed == [], symbol
        assert book.sequence == diffs[-1]["u"], symbol


def test_rebuild_binance_book_futures_gap_is_found_by_previous_update_id(shared_data: Path) -> None:
    snapshot, diffs, _ = _binance_session(shared_data, "BINANCE_FUTURES")["SUSHIUSDT"]
    del diffs[len(diffs) // 2]
    with pytest.raises(SequenceGapError, match="has pu="):
        rebuild_binance_book(snapshot, diffs)


def test_coinbase_level2_rebuild_stays_uncrossed_and_matches_ticker(shared_data: Path) -> None:
    books: dict[str, OrderBook] = {}
    seen_ticker: set[str] = set()
    matched = 0
    for _, body in iter_json(read_recording(shared_data / SAMPLES / "COINBASE.ws.28.0")):
        product = body.get("product_id")
        if body["type"] == "snapshot":
            books[product] = OrderBook()
            books[product].apply_snapshot(
                [(float(p), float(a)) for p, a in body["bids"]], [(float(p), float(a)) for p, a in body["asks"]]
            )
        elif body["type"] == "l2update":
            book = books[product]
            sides = ["bid" if side == "buy" else "ask" for side, _, _ in body["changes"]]
            book.apply_deltas(sides, [float(p) for _, p, _ in body["changes"]], [float(a) for *_, a in body["changes"]])
            assert not book.is_crossed() and not book.is_locked(), (product, body["time"])
        elif body["type"] == "ticker" and product in books:
            if product in seen_ticker:  # the first ticker repeats the state from before the subscription
                book = books[product]
                assert (book.best_bid(), book.best_ask()) == (float(body["best_bid"]), float(body["best_ask"]))
                matched += 1
            seen_ticker.add(product)
    assert len(books) == 10
    assert matched == 97


def test_coinbase_level2_rebuild_from_normalised_rows_equals_rebuild_from_messages(shared_data: Path) -> None:
    source = open_file_source(shared_data / SAMPLES / "COINBASE.ws.28.0")
    snapshots = pd.concat([batch.frame for batch in source.read(Stream.BOOK_SNAPSHOTS)])
    deltas = pd.concat([batch.frame for batch in source.read(Stream.BOOK_DELTAS)])
    expected: dict[str, OrderBook] = {}
    for _, body in iter_json(read_recording(source.path)):
        if body["type"] == "snapshot":
            expected[body["product_id"]] = OrderBook()
            expected[body["product_id"]].apply_snapshot(
                [(float(p), float(a)) for p, a in body["bids"]], [(float(p), float(a)) for p, a in body["asks"]]
            )
        elif body["type"] == "l2update":
            for side, price, amount in body["changes"]:
                expected[body["product_id"]].apply_delta("bid" if side == "buy" else "ask", float(price), float(amount))
    snapshot: Any
    for snapshot in snapshots.itertuples():
        book = OrderBook()
        book.apply_snapshot(
            zip(snapshot.bid_prices, snapshot.bid_amounts, strict=True),
            zip(snapshot.ask_prices, snapshot.ask_amounts, strict=True),
        )
        mine = deltas[(deltas["symbol"] == snapshot.symbol) & (deltas["sequence"] > snapshot.sequence)]
        mine = mine.sort_values("sequence", kind="stable")
        book.apply_deltas(mine["side"].tolist(), mine["price"].tolist(), mine["amount"].tolist())
        assert book.bids(1000) == expected[snapshot.symbol].bids(1000), snapshot.symbol
        assert book.asks(1000) == expected[snapshot.symbol].asks(1000), snapshot.symbol
