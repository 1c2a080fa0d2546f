-- Checked OHLCV bars, with the timeframe's length in seconds.
select
    ohlcv.venue,
    ohlcv.symbol,
    ohlcv.timeframe,
    {{ timeframe_seconds('ohlcv.timeframe') }} as timeframe_s,
    ohlcv.ts,
    ohlcv.open,
    ohlcv.high,
    ohlcv.low,
    ohlcv.close,
    ohlcv.volume,
    ohlcv.ingested_at,
    ohlcv.checked_until
from {{ from_checked(source('market', 'ohlcv'), 'market.ohlcv', 'ohlcv') }}
