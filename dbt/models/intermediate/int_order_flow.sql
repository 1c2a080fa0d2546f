{{
    config(
        materialized='incremental',
        incremental_strategy='replace_tail',
        unique_key=['venue', 'symbol', 'timeframe', 'ts'],
        on_schema_change='fail',
        indexes=[
            {'columns': ['venue', 'symbol', 'timeframe', 'ts'], 'unique': true},
            {'columns': ['ts']},
        ],
    )
}}
-- Aggressor volumes per bar of every target timeframe, from the checked trades.
{%- set recompute = "(select start from recompute)" %}

with recompute as (
    {{ recompute_start(incremental=is_incremental()) }}
),

trades as (
    select venue, symbol, trade_id, ts, amount, side
    from {{ ref('stg_trades') }}
    where ts >= {{ recompute }} and checked_until > {{ recompute }}
),

bucketed as (
    select
        trades.*,
        targets.timeframe,
        date_bin(make_interval(secs => targets.timeframe_s), trades.ts, timestamptz '1970-01-01 00:00:00+00') as bar_ts
    from trades
    cross join {{ target_timeframes_relation() }}
),

volumes as (
    select
        venue,
        symbol,
        timeframe,
        bar_ts as ts,
        count(*) as trade_count,
        coalesce(sum(amount order by ts, trade_id) filter (where side = 'buy'), 0) as buy_volume,
        coalesce(sum(amount order by ts, trade_id) filter (where side = 'sell'), 0) as sell_volume
    from bucketed
    group by venue, symbol, timeframe, bar_ts
)

select
    venue,
    symbol,
    timeframe,
    ts,
    trade_count,
    buy_volume,
    sell_volume,
    case
        when buy_volume + sell_volume > 0 then (buy_volume - sell_volume) / (buy_volume + sell_volume)
    end as order_flow_imbalance,
    nullif({{ recompute }}, timestamptz '-infinity') as recomputed_from,
    {{ build_time() }} as built_at
from volumes
