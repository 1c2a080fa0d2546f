-- Checked perpetual funding settlements.
select
    funding.venue,
    funding.symbol,
    funding.ts,
    funding.rate,
    funding.mark_price,
    funding.index_price,
    funding.ingested_at,
    funding.checked_until
from {{ from_checked(source('market', 'funding_rates'), 'market.funding_rates', 'funding') }}
