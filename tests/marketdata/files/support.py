"""Helpers shared by the file-source tests."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from traider.marketdata.files import FileSource
from traider.marketdata.records import COLUMNS, Rejection, Stream


@dataclass(frozen=True)
class Read:
    frame: pd.DataFrame
    rejections: tuple[Rejection, ...]
    batches: int


def read_all(source: FileSource, stream: Stream | None = None) -> Read:
    """Read every batch of `source` and check the invariants every batch must hold."""
    batches = list(source.read(stream))
    for batch in batches:
        assert list(batch.frame.columns) == list(COLUMNS[batch.stream])
        assert len(batch.frame) <= source.batch_rows
        if len(batch.frame):
            assert isinstance(batch.frame["ts"].dtype, pd.DatetimeTZDtype)
            assert str(batch.frame["ts"].dt.tz) == "UTC"
            assert batch.frame["ts"].is_monotonic_increasing
        assert batch.source == source.name
    frames = [batch.frame for batch in batches if len(batch.frame)]
    frame = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS[stream or Stream.OHLCV]))
    )
    rejections = tuple(rejection for batch in batches for rejection in batch.rejections)
    return Read(frame, rejections, len(batches))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")
