"""SimulatorSource: the Source contract, venue `sim`, determinism, overlap agreement, batching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tests.marketdata.simulator.conftest import DAY, fetch
from traider.marketdata.records import COLUMNS, Stream
from traider.marketdata.simulator import SimulatorConfig, SimulatorRequestError, SimulatorSource
from traider.marketdata.source import FetchRequest, Source

# (stream, symbol, span, timeframe): small windows crossing a midnight where it is cheap
CASES = [
    (Stream.OHLCV, "BTC/USD", timedelta(days=2), "1h"),
    (Stream.OHLCV, "ETH/USD:USD", timedelta(minutes=30), "1m"),
    (Stream.OHLCV, "BTC/USD", timedelta(minutes=2), "5s"),
    (Stream.TRADES, "BTC/USD", timedelta(minutes=20), None),
    (Stream.TRADES, "BTC/USD:USD", timedelta(minutes=10), None),
    (Stream.BOOK_SNAPSHOTS, "BTC/USD", timedelta(minutes=30), None),
    (Stream.BOOK_DELTAS, "ETH/USD", timedelta(minutes=2), None),
    (Stream.FUNDING_RATES, "BTC/USD:USD", timedelta(days=3), None),
]
START = DAY - timedelta(minutes=1)


def test_simulator_source_protocol_is_implemented() -> None:
    assert isinstance(SimulatorSource(), Source)
    assert SimulatorSource().name == "sim"


@pytest.mark.parametrize(("stream", "symbol", "span", "timeframe"), CASES)
def test_fetch_every_stream_rows_on_venue_sim_with_canonical_columns(
    source: SimulatorSource, stream: Stream, symbol: str, span: timedelta, timeframe: str | None
) -> None:
    frame = fetch(source, stream, symbol, (START, START + span), timeframe)
    assert len(frame) > 0
    assert list(frame.columns) == list(COLUMNS[stream])
    assert set(frame["venue"]) == {"sim"}
    assert set(frame["symbol"]) == {symbol}
    assert frame["ts"].is_monotonic_increasing
    assert frame["ts"].min() >= START and frame["ts"].max() < START + span
    assert str(frame["ts"].dt.tz) == "UTC"


@pytest.mark.parametrize(("stream", "symbol", "span", "timeframe"), CASES)
def test_fetch_same_request_twice_identical_frames(
    stream: Stream, symbol: str, span: timedelta, timeframe: str | None
) -> None:
    first = fetch(SimulatorSource(), stream, symbol, (START, START + span), timeframe)
    again = fetch(SimulatorSource(), stream, symbol, (START, START + span), timeframe)
    pd.testing.assert_frame_equal(first, again)


@pytest.mark.parametrize(("stream", "symbol", "span", "timeframe"), CASES)
def test_fetch_overlapping_windows_agree_on_overlap(
    stream: Stream, symbol: str, span: timedelta, timeframe: str | None
) -> None:
    whole = fetch(SimulatorSource(), stream, symbol, (START, START + span), timeframe)
    middle = START + span / 2
    late = fetch(SimulatorSource(), stream, symbol, (middle, START + span + span / 3), timeframe)
    overlap = whole[whole["ts"] >= middle].reset_index(drop=True)
    pd.testing.assert_frame_equal(overlap, late[late["ts"] < START + span].reset_index(drop=True))


def test_fetch_seed_changes_the_data() -> None:
    first = fetch(
        SimulatorSource(SimulatorConfig(seed=1)), Stream.OHLCV, "BTC/USD", (DAY, DAY + timedelta(hours=1)), "1m"
    )
    second = fetch(
        SimulatorSource(SimulatorConfig(seed=2)), Stream.OHLCV, "BTC/USD", (DAY, DAY + timedelta(hours=1)), "1m"
    )
    assert not first["close"].equals(second["close"])


def test_fetch_batches_bounded_and_in_time_order() -> None:
    source = SimulatorSource(SimulatorConfig(batch_rows=1_000))
    request = FetchRequest(Stream.OHLCV, "sim", "BTC/USD", DAY, DAY + timedelta(days=3), "1m")
    batches = list(source.fetch(request))
    assert [len(batch.frame) for batch in batches] == [1_000] * 4 + [320]
    stamps = pd.concat([batch.frame["ts"] for batch in batches])
    assert stamps.is_monotonic_increasing and stamps.is_unique
    assert all(batch.source == "sim" and batch.stream is Stream.OHLCV and not batch.rejections for batch in batches)


@pytest.mark.parametrize(
    ("venue", "symbol", "start", "message"),
    [
        ("binance", "BTC/USD", DAY, "only serves venue 'sim'"),
        ("sim", "BTCUSD", DAY, "is not like BTC/USD"),
        ("sim", "BTC/USD", datetime(2017, 6, 1, tzinfo=UTC), "history starts at"),
    ],
)
def test_fetch_unanswerable_request_raises_one_line_error(
    venue: str, symbol: str, start: datetime, message: str
) -> None:
    request = FetchRequest(Stream.OHLCV, venue, symbol, start, start + timedelta(hours=1), "1m")
    with pytest.raises(SimulatorRequestError, match=message):
        list(SimulatorSource().fetch(request))


def test_fetch_funding_of_spot_symbol_raises() -> None:
    with pytest.raises(SimulatorRequestError, match="perpetuals like"):
        fetch(SimulatorSource(), Stream.FUNDING_RATES, "BTC/USD", (DAY, DAY + timedelta(days=1)))


def test_fetch_open_ended_request_raises() -> None:
    with pytest.raises(SimulatorRequestError, match="both a start and an end"):
        list(SimulatorSource().fetch(FetchRequest(Stream.TRADES, "sim", "BTC/USD", DAY)))


def test_fetch_year_of_minute_bars_yields_every_minute() -> None:
    source = SimulatorSource()
    source.market.chain("BTC/USD").day_plan(3_000)  # the skeleton since the epoch: cached, not what is measured
    rows = sum(
        len(batch.frame)
        for batch in source.fetch(
            FetchRequest(
                Stream.OHLCV, "sim", "BTC/USD", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), "1m"
            )
        )
    )
    assert rows == 366 * 1_440
