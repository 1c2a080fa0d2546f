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
-- Bars of every target timeframe, resampled from the checked bars of the stored timeframes that divide it.
{%- set recompute = "(select start from recompute)" %}

with recompute as (
    {{ recompute_start(incremental=is_incremental()) }}
),

source_bars as (
    -- bars aligned to their own timeframe (a 5m bar opens on a multiple of 5 minutes)
    select *
    from {{ ref('stg_ohlcv') }}
    where timeframe_s is not null
        and ts = date_bin(make_interval(secs => timeframe_s), ts, timestamptz '1970-01-01 00:00:00+00')
        and ts >= {{ recompute }} and checked_until > {{ recompute }}
),

bucketed as (
    select
        source_bars.venue,
        source_bars.symbol,
        targets.timeframe,
        targets.timeframe_s,
        date_bin(make_interval(secs => targets.timeframe_s), source_bars.ts, timestamptz '1970-01-01 00:00:00+00') as ts,
        source_bars.timeframe as source_timeframe,
        source_bars.timeframe_s as source_timeframe_s,
        source_bars.ts as source_ts,
        source_bars.open,
        source_bars.high,
        source_bars.low,
        source_bars.close,
        source_bars.volume
    from source_bars
    inner join {{ target_timeframes_relation() }}
        on targets.timeframe_s % source_bars.timeframe_s = 0
),

complete as (
    -- one candidate per source timeframe, kept only when every sub-bar of the bucket is there
    select
        venue,
        symbol,
        timeframe,
        timeframe_s,
        ts,
        source_timeframe,
        source_timeframe_s,
        count(*) as sub_bars,
        (array_agg(open order by source_ts))[1] as open,
        max(high) as high,
        min(low) as low,
        (array_agg(close order by source_ts desc))[1] as close,
        sum(volume order by source_ts) as volume
    from bucketed
    group by venue, symbol, timeframe, timeframe_s, ts, source_timeframe, source_timeframe_s
    having count(*) = timeframe_s / source_timeframe_s
),

chosen as (
    -- the coarsest complete source wins: a native bar over a resampled one
    select distinct on (venue, symbol, timeframe, ts) *
    from complete
    order by venue, symbol, timeframe, ts, source_timeframe_s desc, source_timeframe
)

select
    venue,
    symbol,
    timeframe,
    ts,
    ts + make_interval(secs => timeframe_s) as available_at,
    open,
    high,
    low,
    close,
    volume,
    source_timeframe,
    sub_bars,
    nullif({{ recompute }}, timestamptz '-infinity') as recomputed_from,
    {{ build_time() }} as built_at
from chosen
