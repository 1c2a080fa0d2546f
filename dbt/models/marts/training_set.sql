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
-- The features with forward-return labels for each horizon in var horizons (bars ahead).
{%- set horizons = var('horizons') %}
{%- if horizons is string or horizons | length == 0 %}
    {{ exceptions.raise_compiler_error("var horizons must be a non-empty list of bar counts such as [1, 4, 24]") }}
{%- endif %}
{%- for horizon in horizons %}
    {%- if horizon is not number or horizon < 1 or horizon != horizon | int %}
        {{ exceptions.raise_compiler_error("var horizons: " ~ horizon ~ " is not a whole number of bars >= 1") }}
    {%- endif %}
{%- endfor %}
{%- set reach = "make_interval(secs => " ~ (horizons | max) * longest_timeframe_seconds() ~ ")" %}
{%- set recompute = "(select start from recompute)" %}

{%- set windows = [] %}
{%- for horizon in horizons %}
    {%- for name, seconds in target_timeframes() %}
        {%- do windows.append((horizon, name, horizon * seconds)) %}
    {%- endfor %}
{%- endfor %}

with recompute as (
    {{ recompute_start(incremental=is_incremental(), reach=reach) }}
),

features as (
    -- the bars from the recompute start on: a label only looks ahead, so they hold every bar it needs
    select * from {{ ref('features') }}
    where ts >= {{ recompute }}
),

ahead as (
    -- the close of the bar opening exactly h timeframes later: a RANGE frame holding only that ts
    select
        features.*,
        {%- for horizon in horizons %}
        case timeframe
            {%- for window_horizon, name, offset in windows if window_horizon == horizon %}
            when '{{ name }}' then first_value(close) over ahead_{{ horizon }}_{{ name }}
            {%- endfor %}
        end as close_ahead_{{ horizon }}{{ "," if not loop.last }}
        {%- endfor %}
    from features
    window
        {%- for horizon, name, offset in windows %}
        ahead_{{ horizon }}_{{ name }} as (
            partition by venue, symbol, timeframe order by ts
            range between interval '{{ offset }} seconds' following and interval '{{ offset }} seconds' following
        ){{ "," if not loop.last }}
        {%- endfor %}
),

final as (
    select
        venue,
        symbol,
        timeframe,
        ts,
        {%- for column in feature_columns() %}
        {{ column }},
        {%- endfor %}
        {%- for horizon in horizons %}
        ln(close_ahead_{{ horizon }} / close) as fwd_return_{{ horizon }},
        sign(ln(close_ahead_{{ horizon }} / close))::smallint as fwd_sign_{{ horizon }},
        ts + {{ horizon }} * (available_at - ts) as label_end_{{ horizon }},
        {%- endfor %}
        nullif({{ recompute }}, timestamptz '-infinity') as recomputed_from,
        {{ build_time() }} as built_at
    from ahead
)

select * from final
