"""Real market data for the feature tests: load shared files with the project's loader, pass the quality gate.

The data sets (freqtrade test data, tardis book snapshots), all on venue binance:
- UNITTEST/BTC 5m spot bars, 2018-01-10 04:55 → 2018-01-30 04:50 (5,760 bars, no gap);
- XRP/USDT:USDT 5m perpetual bars, 2021-11-15 → 2021-11-21 22:30, with two real price jumps (11-16 10:05
  and 11-18 01:30) that fail the gate: its middle window fails, the windows around it pass;
- XRP/USDT:USDT 8-hourly funding rates, 2021-11-18 → 2021-12-18;
- XRP/ETH 5m bars and 12,477 trades, 2019-10-11 → 2019-10-13 11:19;
- BTC/USDT:USDT 25-level book snapshots, 2020-09-01 00:00:03 → 00:00:04 (10);
- UNITTEST/BTC 1m bars, 2017-11 (13,681), never checked by the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from traider.marketdata.files import open_file_source
from traider.marketdata.loader import load_batches
from traider.marketdata.source import Batch
from traider.quality.gate import QualityGateFailed, check_table

FREQTRADE = Path("freqtrade/tests/testdata")
UNITTEST_5M = FREQTRADE / "UNITTEST_BTC-5m.feather"
UNITTEST_1M = FREQTRADE / "UNITTEST_BTC-1m.feather"
XRP_PERP_5M = FREQTRADE / "futures/XRP_USDT_USDT-5m-futures.feather"
XRP_FUNDING = FREQTRADE / "futures/XRP_USDT_USDT-8h-funding_rate.feather"
XRP_ETH_5M = FREQTRADE / "XRP_ETH-5m.feather"
XRP_ETH_TRADES = FREQTRADE / "XRP_ETH-trades.feather"
BOOK = Path("nautilus_trader/tests/test_data/tardis/binance-futures_book_snapshot_25_BTCUSDT.csv")
VENUE = "binance"


def utc(*parts: int) -> datetime:
    """Return a UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A quality-gate window of one table and whether the real data passes it."""

    table: str
    start: datetime
    end: datetime
    passes: bool = True


UNITTEST_WINDOW = Window("ohlcv", utc(2018, 1, 10, 4, 55), utc(2018, 1, 30, 4, 55))
XRP_PERP_WINDOWS = (
    Window("ohlcv", utc(2021, 11, 15), utc(2021, 11, 16, 10)),
    Window("ohlcv", utc(2021, 11, 16, 10), utc(2021, 11, 18, 2), passes=False),  # both price jumps
    Window("ohlcv", utc(2021, 11, 18, 2), utc(2021, 11, 21, 22, 35)),
)
FUNDING_WINDOW = Window("funding_rates", utc(2021, 11, 18), utc(2021, 12, 18, 8))
XRP_ETH_WINDOW = Window("ohlcv", utc(2019, 10, 11), utc(2019, 10, 13, 11, 20))
TRADES_WINDOW = Window("trades", utc(2019, 10, 11), utc(2019, 10, 13, 11, 20))
BOOK_WINDOW = Window("book_snapshots", utc(2020, 9, 1), utc(2020, 9, 1, 0, 1))
ALL_WINDOWS = (UNITTEST_WINDOW, *XRP_PERP_WINDOWS, FUNDING_WINDOW, XRP_ETH_WINDOW, TRADES_WINDOW, BOOK_WINDOW)


def read_rows(shared_data: Path, relative: Path, **hints: str) -> pd.DataFrame:
    """Return the normalised rows of a shared file, read by the project's file sources."""
    source = open_file_source(shared_data / relative, venue=VENUE, **hints)
    frames = [batch.frame for batch in source.read()]
    return pd.concat(frames, ignore_index=True)


def load_file(engine: Engine, shared_data: Path, relative: Path, *, since: datetime | None = None,
              until: datetime | None = None, **hints: str) -> int:  # fmt: skip
    """Load a shared file (rows with ts in [since, until)) with the project's loader; return the rows loaded."""
    source = open_file_source(shared_data / relative, venue=VENUE, **hints)
    (stream,) = source.streams
    batches = (batch for batch in source.read() if len(batch.frame))
    chosen = (Batch(stream, _between(batch.frame, since, until), (), batch.source) for batch in batches)
    result = load_batches(engine, stream, chosen)
    assert result.quarantined == 0, result
    return result.loaded


def _between(frame: pd.DataFrame, since: datetime | None, until: datetime | None) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if since is not None:
        keep &= frame["ts"] >= since
    if until is not None:
        keep &= frame["ts"] < until
    return frame[keep].reset_index(drop=True)


def load_all(engine: Engine, shared_data: Path) -> None:
    """Load every data set of this module."""
    for relative in (UNITTEST_5M, XRP_PERP_5M, XRP_FUNDING, XRP_ETH_5M, XRP_ETH_TRADES, UNITTEST_1M):
        load_file(engine, shared_data, relative)
    load_file(engine, shared_data, BOOK, symbol="BTC/USDT:USDT")


def gate(engine: Engine, window: Window, run_id: str, home: Path) -> bool:
    """Run the real quality gate on a window; return whether it passed (and check that is what was expected)."""
    try:
        check_table(engine, window.table, window.start, window.end, run_id, home=home)
        passed = True
    except QualityGateFailed:
        passed = False
    assert passed == window.passes, f"{window} {'passed' if passed else 'failed'} the quality gate"
    return passed


def passed_rows(frame: pd.DataFrame, windows: tuple[Window, ...]) -> pd.DataFrame:
    """Return the rows whose ts lies in one of the passing windows."""
    keep = pd.Series(False, index=frame.index)
    for window in windows:
        if window.passes:
            keep |= (frame["ts"] >= window.start) & (frame["ts"] < window.end)
    return frame[keep].reset_index(drop=True)
