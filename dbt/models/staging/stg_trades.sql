-- Checked public trades.
select
    trades.venue,
    trades.symbol,
    trades.trade_id,
    trades.ts,
    trades.price,
    trades.amount,
    trades.side,
    trades.ingested_at,
    trades.checked_until
from {{ from_checked(source('market', 'trades'), 'market.trades', 'trades') }}
