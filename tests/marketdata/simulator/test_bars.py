"""Timeframes and the streaming bar aggregator."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traider.marketdata.simulator import SimulatorRequestError
from traider.marketdata.simulator.bars import BarAggregator, parse_timeframe

T0 = 1_709_251_200  # 2024-03-01T00:00:00Z


@pytest.mark.parametrize("text", ["1x", "0m", "m", "1.5h", "60"])
def test_parse_timeframe_malformed_raises(text: str) -> None:
    with pytest.raises(SimulatorRequestError, match="is not like"):
        parse_timeframe(text)


@pytest.mark.parametrize(
    ("text", "second", "expected"),
    [
        ("15m", T0 + 1_000, T0 + 900),
        ("4h", T0 + 5 * 3_600, T0 + 4 * 3_600),
        ("1w", T0, T0 - 4 * 86_400),  # 2024-03-01 is a Friday: the week opened on Monday 26 February
        ("1M", T0 + 20 * 86_400, T0),
        ("3M", T0, T0 - 60 * 86_400),  # quarters from January: 2024-01-01
    ],
)
def test_timeframe_floor_aligns_to_utc_calendar(text: str, second: int, expected: int) -> None:
    assert parse_timeframe(text).floor(np.array([second]))[0] == expected


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    timeframe=st.sampled_from(["1m", "5m", "1h", "1d"]),
)
def test_bar_aggregator_chunked_equals_one_pass(data: list[float], cuts: list[int], timeframe: str) -> None:
    seconds = T0 + 60 * np.arange(len(data)) * 7
    close = np.cumsum(data)
    high, low, volume = close + 0.5, close - 0.5, np.abs(np.array(data))
    frame = pd.DataFrame({"ts": seconds, "close": close, "high": high, "low": low, "volume": volume})
    expected = frame.groupby(parse_timeframe(timeframe).floor(seconds)).agg(
        open=("close", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    aggregator = BarAggregator(parse_timeframe(timeframe))
    bounds = [0, *sorted(cut for cut in cuts if cut < len(data)), len(data)]
    columns = {"ts": seconds, "open": close, "high": high, "low": low, "close": close, "volume": volume}
    parts = [aggregator.add({name: values[a:b] for name, values in columns.items()}) for a, b in pairwise(bounds)]
    parts.append(aggregator.finish())
    merged = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    assert np.array_equal(merged["ts"], expected.index.to_numpy())
    for name in ("open", "high", "low", "close", "volume"):
        assert np.allclose(merged[name], expected[name].to_numpy())
