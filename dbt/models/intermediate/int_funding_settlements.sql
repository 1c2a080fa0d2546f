{{
    config(
        materialized='table',
        indexes=[{'columns': ['venue', 'symbol', 'settled_at'], 'unique': true}],
    )
}}
-- Funding features per settlement (a few per day per perpetual: rebuilt whole on every run).
with settlements as (
    select venue, symbol, ts as settled_at, rate
    from {{ ref('stg_funding_rates') }}
),

rolling as (
    select
        settlements.*,
        row_number() over series_order as settlement_index,
        avg(rate) over last_30 as mean_rate_30,
        stddev_samp(rate) over last_30 as stddev_rate_30,
        sum(rate) over last_3 as sum_rate_3
    from settlements
    window
        series_order as (partition by venue, symbol order by settled_at),
        last_30 as (partition by venue, symbol order by settled_at rows between 29 preceding and current row),
        last_3 as (partition by venue, symbol order by settled_at rows between 2 preceding and current row)
)

select
    venue,
    symbol,
    settled_at,
    settlement_index,
    rate as funding_rate,
    case
        when settlement_index >= 30 and stddev_rate_30 > 0 then (rate - mean_rate_30) / stddev_rate_30
    end as funding_rate_zscore_30,
    case when settlement_index >= 3 then sum_rate_3 end as funding_drift_3
from rolling
