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
-- One row per venue, symbol, timeframe and bar: every feature known when the bar closes.
{%- set recompute = "(select start from recompute)" %}

with recompute as (
    {{ recompute_start(incremental=is_incremental()) }}
),

bars as (
    select * from {{ ref('int_bar_indicators') }}
    where ts >= {{ recompute }}
),

spot_bars as (
    select venue, symbol, timeframe, ts, close from {{ ref('int_bars') }}
),

funding as (
    select * from {{ ref('int_funding_settlements') }}
),

order_flow as (
    select * from {{ ref('int_order_flow') }}
),

book as (
    select * from {{ ref('int_book_features') }}
),

final as (
    select
        bars.venue,
        bars.symbol,
        bars.timeframe,
        bars.ts,
        bars.available_at,
        bars.bar_index,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume,
        bars.log_return,
        bars.realised_vol_24,
        bars.rsi_14,
        bars.macd_line,
        bars.macd_signal,
        bars.macd_hist,
        bars.bollinger_pctb_20,
        bars.atr_14,
        bars.ema_ratio_12,
        bars.ema_ratio_26,
        bars.ema_ratio_50,
        latest_funding.funding_rate,
        latest_funding.funding_rate_zscore_30,
        latest_funding.funding_drift_3,
        latest_funding.settled_at as funding_settled_at,
        bars.close / spot_bars.close - 1 as basis,
        order_flow.trade_count,
        order_flow.buy_volume,
        order_flow.sell_volume,
        order_flow.order_flow_imbalance,
        book.spread_bps,
        book.depth_imbalance_5,
        book.microprice,
        book.snapshot_ts as book_snapshot_ts,
        nullif({{ recompute }}, timestamptz '-infinity') as recomputed_from,
        {{ build_time() }} as built_at
    from bars
    left join lateral (
        -- the last settlement before the bar closed
        select funding.funding_rate, funding.funding_rate_zscore_30, funding.funding_drift_3, funding.settled_at
        from funding
        where funding.venue = bars.venue and funding.symbol = bars.symbol and funding.settled_at < bars.available_at
        order by funding.settled_at desc
        limit 1
    ) as latest_funding on true
    left join spot_bars
        on strpos(bars.symbol, ':') > 0
        and spot_bars.venue = bars.venue
        and spot_bars.symbol = split_part(bars.symbol, ':', 1)
        and spot_bars.timeframe = bars.timeframe
        and spot_bars.ts = bars.ts
    left join order_flow
        on order_flow.venue = bars.venue
        and order_flow.symbol = bars.symbol
        and order_flow.timeframe = bars.timeframe
        and order_flow.ts = bars.ts
    left join book
        on book.venue = bars.venue
        and book.symbol = bars.symbol
        and book.timeframe = bars.timeframe
        and book.ts = bars.ts
)

select * from final
