"""Ingest watermarks: how far each (venue, symbol, stream, timeframe) has been loaded, in `market.ingest_watermarks`.

A loader fetches from `resume_start(...)` and, once a batch is stored, calls `advance_watermark(...)`
with the batch's newest timestamp in the same transaction. The watermark never moves backwards, so a
re-run of an older interval cannot rewind it. Resumption starts *at* the watermark, not after it: the
newest stored row is fetched again (an OHLCV bar may have been stored while still open), which the
idempotent writes absorb.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from traider.marketdata.records import Stream

if TYPE_CHECKING:
    from sqlalchemy import Connection

SELECT = """
SELECT last_ts FROM market.ingest_watermarks
WHERE venue = :venue AND symbol = :symbol AND stream = :stream AND timeframe = :timeframe
"""

UPSERT = """
INSERT INTO market.ingest_watermarks AS w (venue, symbol, stream, timeframe, last_ts)
VALUES (:venue, :symbol, :stream, :timeframe, :last_ts)
ON CONFLICT (venue, symbol, stream, timeframe) DO UPDATE
SET last_ts = GREATEST(w.last_ts, EXCLUDED.last_ts),
    updated_at = CASE WHEN EXCLUDED.last_ts > w.last_ts THEN now() ELSE w.updated_at END
RETURNING last_ts
"""


def _key(venue: str, symbol: str, stream: Stream | str, timeframe: str | None) -> dict[str, str]:
    return {"venue": venue, "symbol": symbol, "stream": Stream(stream).value, "timeframe": timeframe or ""}


def resume_start(
    connection: Connection,
    venue: str,
    symbol: str,
    stream: Stream | str,
    timeframe: str | None = None,
    *,
    default: datetime | None = None,
) -> datetime | None:
    """Return where to resume fetching: the stored watermark, or `default` when there is none."""
    from sqlalchemy import text

    row = connection.execute(text(SELECT), _key(venue, symbol, stream, timeframe)).first()
    if row is None:
        return default
    last_ts: datetime = row[0]
    return last_ts


def advance_watermark(
    connection: Connection,
    venue: str,
    symbol: str,
    stream: Stream | str,
    timeframe: str | None,
    *,
    last_ts: datetime,
) -> datetime:
    """Move the watermark forward to `last_ts` (never backwards); return the watermark now stored."""
    from sqlalchemy import text

    if last_ts.tzinfo is None:
        raise ValueError("a watermark must be timezone-aware")
    params = {**_key(venue, symbol, stream, timeframe), "last_ts": last_ts}
    stored: datetime = connection.execute(text(UPSERT), params).scalar_one()
    return stored
