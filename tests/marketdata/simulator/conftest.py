"""Shared helpers of the simulator tests: a default source and a one-frame fetch."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from traider.marketdata.records import Stream
from traider.marketdata.simulator import SimulatorSource
from traider.marketdata.source import FetchRequest

DAY = datetime(2024, 3, 1, tzinfo=UTC)


def fetch(
    source: SimulatorSource,
    stream: Stream,
    symbol: str,
    window: tuple[datetime, datetime],
    timeframe: str | None = None,
) -> pd.DataFrame:
    """Return every row a request yields, as one frame."""
    request = FetchRequest(stream, "sim", symbol, window[0], window[1], timeframe)
    frames = [batch.frame for batch in source.fetch(request)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@pytest.fixture(scope="module")
def source() -> SimulatorSource:
    """A simulator with the default config (seed 0)."""
    return SimulatorSource()
