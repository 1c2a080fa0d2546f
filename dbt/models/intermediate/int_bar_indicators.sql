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
-- Technical indicators per bar, and the recursive states that let an incremental build continue exactly.
{%- set recompute = "(select start from recompute)" %}
{#- The longest rolling window reads 24 log returns, i.e. the 24 closes before a bar. -#}
{%- set context_bars = 24 %}
{%- set states = ['ema_12', 'ema_26', 'ema_50', 'macd_signal_ema_9', 'rsi_avg_gain_14', 'rsi_avg_loss_14', 'atr_wilder_14'] %}

with recompute as (
    {{ recompute_start(incremental=is_incremental()) }}
),

fresh as (
    select venue, symbol, timeframe, ts, available_at, open, high, low, close, volume
    from {{ ref('int_bars') }}
    where ts >= {{ recompute }}
),

{% if is_incremental() %}
fresh_series as (
    select distinct venue, symbol, timeframe from fresh
),

context as (
    -- the last stored bars before the recompute start: their closes feed the rolling windows, and the
    -- states of the last one (the anchor) seed the recursions
    select stored.*
    from fresh_series
    cross join lateral (
        select
            kept.venue, kept.symbol, kept.timeframe, kept.ts, kept.available_at,
            kept.open, kept.high, kept.low, kept.close, kept.volume,
            kept.bar_index{% for state in states %}, kept.{{ state }}{% endfor %}
        from {{ this }} as kept
        where kept.venue = fresh_series.venue
            and kept.symbol = fresh_series.symbol
            and kept.timeframe = fresh_series.timeframe
            and kept.ts < {{ recompute }}
        order by kept.ts desc
        limit {{ context_bars }}
    ) as stored
),
{% endif %}

all_bars as (
    select
        fresh.*,
        false as is_context,
        null::bigint as stored_bar_index{% for state in states %},
        null::double precision as stored_{{ state }}{% endfor %}
    from fresh
    {% if is_incremental() %}
    union all
    select
        venue, symbol, timeframe, ts, available_at, open, high, low, close, volume,
        true,
        bar_index{% for state in states %},
        {{ state }}{% endfor %}
    from context
    {% endif %}
),

ordered as (
    select
        all_bars.*,
        lag(close) over series_order as previous_close,
        is_context and not coalesce(lead(is_context) over series_order, false) as is_anchor,
        case
            when is_context then stored_bar_index
            else coalesce(max(stored_bar_index) over series_all, -1)
                + count(*) filter (where not is_context) over running
        end as bar_index
    from all_bars
    window
        series_all as (partition by venue, symbol, timeframe),
        series_order as (partition by venue, symbol, timeframe order by ts),
        running as (partition by venue, symbol, timeframe order by ts rows between unbounded preceding and current row)
),

changes as (
    select
        ordered.*,
        ln(close / previous_close) as log_return,
        case when previous_close is not null then greatest(close - previous_close, 0) end as gain,
        case when previous_close is not null then greatest(previous_close - close, 0) end as loss,
        case
            when previous_close is not null
                then greatest(high - low, abs(high - previous_close), abs(low - previous_close))
        end as true_range
    from ordered
),


recursions as (
    select
        changes.*,
        {{ seeded_ema('close', 'ema_12', '2::double precision / 13') }} as ema_12,
        {{ seeded_ema('close', 'ema_26', '2::double precision / 27') }} as ema_26,
        {{ seeded_ema('close', 'ema_50', '2::double precision / 51') }} as ema_50,
        {{ seeded_ema('gain', 'rsi_avg_gain_14', '1::double precision / 14') }} as rsi_avg_gain_14,
        {{ seeded_ema('loss', 'rsi_avg_loss_14', '1::double precision / 14') }} as rsi_avg_loss_14,
        {{ seeded_ema('true_range', 'atr_wilder_14', '1::double precision / 14') }} as atr_wilder_14,
        stddev_samp(log_return) over last_24 as stddev_log_return_24,
        avg(close) over last_20 as sma_20,
        stddev_pop(close) over last_20 as stddev_close_20
    from changes
    window
        running as (partition by venue, symbol, timeframe order by ts rows between unbounded preceding and current row),
        last_24 as (partition by venue, symbol, timeframe order by ts rows between 23 preceding and current row),
        last_20 as (partition by venue, symbol, timeframe order by ts rows between 19 preceding and current row)
),

signals as (
    select
        recursions.*,
        {{ seeded_ema('ema_12 - ema_26', 'macd_signal_ema_9', '2::double precision / 10') }} as macd_signal_ema_9
    from recursions
    window running as (partition by venue, symbol, timeframe order by ts rows between unbounded preceding and current row)
)

select
    venue,
    symbol,
    timeframe,
    ts,
    available_at,
    bar_index,
    open,
    high,
    low,
    close,
    volume,
    log_return,
    case when bar_index >= 24 then stddev_log_return_24 end as realised_vol_24,
    case
        when bar_index >= 19 and stddev_close_20 > 0
            then (close - (sma_20 - 2 * stddev_close_20)) / ((sma_20 + 2 * stddev_close_20) - (sma_20 - 2 * stddev_close_20))
    end as bollinger_pctb_20,
    case
        when bar_index >= 14 and rsi_avg_gain_14 + rsi_avg_loss_14 > 0
            then 100 * rsi_avg_gain_14 / (rsi_avg_gain_14 + rsi_avg_loss_14)
    end as rsi_14,
    case when bar_index >= 25 then ema_12 - ema_26 end as macd_line,
    case when bar_index >= 33 then macd_signal_ema_9 end as macd_signal,
    case when bar_index >= 33 then (ema_12 - ema_26) - macd_signal_ema_9 end as macd_hist,
    case when bar_index >= 14 then atr_wilder_14 end as atr_14,
    case when bar_index >= 11 then close / ema_12 end as ema_ratio_12,
    case when bar_index >= 25 then close / ema_26 end as ema_ratio_26,
    case when bar_index >= 49 then close / ema_50 end as ema_ratio_50,
    {{ states | join(",\n    ") }},
    nullif({{ recompute }}, timestamptz '-infinity') as recomputed_from,
    {{ build_time() }} as built_at
from signals
where not is_context
