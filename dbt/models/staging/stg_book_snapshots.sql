-- Checked L2 order-book snapshots (levels best first).
select
    snapshots.venue,
    snapshots.symbol,
    snapshots.ts,
    snapshots.sequence,
    snapshots.bid_prices,
    snapshots.bid_amounts,
    snapshots.ask_prices,
    snapshots.ask_amounts,
    cardinality(snapshots.bid_prices) as bid_levels,
    cardinality(snapshots.ask_prices) as ask_levels,
    snapshots.ingested_at,
    snapshots.checked_until
from {{ from_checked(source('market', 'book_snapshots'), 'market.book_snapshots', 'snapshots') }}
