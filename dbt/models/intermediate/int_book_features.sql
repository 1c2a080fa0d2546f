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
-- The order book as of each bar's close: the last checked snapshot inside the bar, and what it shows.
{%- set recompute = "(select start from recompute)" %}

with recompute as (
    {{ recompute_start(incremental=is_incremental()) }}
),

snapshots as (
    select *
    from {{ ref('stg_book_snapshots') }}
    where ts >= {{ recompute }} and checked_until > {{ recompute }} and bid_levels > 0 and ask_levels > 0
),

last_in_bar as (
    select distinct on (snapshots.venue, snapshots.symbol, targets.timeframe, bar_ts)
        snapshots.venue,
        snapshots.symbol,
        targets.timeframe,
        date_bin(make_interval(secs => targets.timeframe_s), snapshots.ts, timestamptz '1970-01-01 00:00:00+00') as bar_ts,
        snapshots.ts as snapshot_ts,
        snapshots.sequence,
        snapshots.bid_prices,
        snapshots.bid_amounts,
        snapshots.ask_prices,
        snapshots.ask_amounts
    from snapshots
    cross join {{ target_timeframes_relation() }}
    order by snapshots.venue, snapshots.symbol, targets.timeframe, bar_ts, snapshots.ts desc, snapshots.sequence desc
),

levels as (
    select
        last_in_bar.*,
        bid_prices[1] as best_bid,
        ask_prices[1] as best_ask,
        bid_amounts[1] as best_bid_amount,
        ask_amounts[1] as best_ask_amount,
        (select sum(amount order by level) from unnest(bid_amounts[1:5]) with ordinality as depth (amount, level))
            as bid_depth_5,
        (select sum(amount order by level) from unnest(ask_amounts[1:5]) with ordinality as depth (amount, level))
            as ask_depth_5
    from last_in_bar
)

select
    venue,
    symbol,
    timeframe,
    bar_ts as ts,
    snapshot_ts,
    best_bid,
    best_ask,
    (best_ask - best_bid) / ((best_bid + best_ask) / 2) * 10000 as spread_bps,
    case
        when bid_depth_5 + ask_depth_5 > 0 then (bid_depth_5 - ask_depth_5) / (bid_depth_5 + ask_depth_5)
    end as depth_imbalance_5,
    case
        when best_bid_amount + best_ask_amount > 0
            then (best_bid * best_ask_amount + best_ask * best_bid_amount) / (best_bid_amount + best_ask_amount)
    end as microprice,
    nullif({{ recompute }}, timestamptz '-infinity') as recomputed_from,
    {{ build_time() }} as built_at
from levels
