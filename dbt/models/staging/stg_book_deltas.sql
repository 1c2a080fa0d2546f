-- Checked L2 order-book level changes.
select
    deltas.venue,
    deltas.symbol,
    deltas.ts,
    deltas.sequence,
    deltas.side,
    deltas.price,
    deltas.amount,
    deltas.ingested_at,
    deltas.checked_until
from {{ from_checked(source('market', 'book_deltas'), 'market.book_deltas', 'deltas') }}
