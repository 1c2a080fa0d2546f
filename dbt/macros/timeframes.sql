{#- The length in seconds of a timeframe column such as '5m' or '1h' ('M', months, has none: NULL). -#}
{% macro timeframe_seconds(column) -%}
    (cast(substring({{ column }} from '^[0-9]+') as bigint)
        * case right({{ column }}, 1)
            when 's' then 1 when 'm' then 60 when 'h' then 3600 when 'd' then 86400 when 'w' then 604800
          end)
{%- endmacro %}


{#- The `timeframes` var checked: [(name, seconds)], each a whole number of minutes, hours or days dividing one day. -#}
{% macro target_timeframes() %}
    {%- set units = {'m': 60, 'h': 3600, 'd': 86400} -%}
    {%- set targets = [] -%}
    {%- set requested = var('timeframes') -%}
    {%- if requested is string or requested | length == 0 -%}
        {{ exceptions.raise_compiler_error("var timeframes must be a non-empty list such as ['1h'], not " ~ requested) }}
    {%- endif -%}
    {%- for name in requested -%}
        {%- set match = modules.re.fullmatch('([1-9][0-9]*)([mhd])', name | string) -%}
        {%- if not match -%}
            {{ exceptions.raise_compiler_error("var timeframes: '" ~ name ~ "' is not a timeframe like 5m, 1h or 1d") }}
        {%- endif -%}
        {%- set seconds = (match.group(1) | int) * units[match.group(2)] -%}
        {%- if 86400 % seconds != 0 -%}
            {{ exceptions.raise_compiler_error("var timeframes: '" ~ name ~ "' does not divide one day; use 1m … 1d") }}
        {%- endif -%}
        {%- do targets.append((name, seconds)) -%}
    {%- endfor -%}
    {{ return(targets) }}
{% endmacro %}


{#- A relation (VALUES list) of the target timeframes: timeframe text, timeframe_s bigint. -#}
{% macro target_timeframes_relation() -%}
    (values
    {%- for name, seconds in target_timeframes() %}
        ('{{ name }}'::text, {{ seconds }}::bigint){{ "," if not loop.last }}
    {%- endfor %}
    ) as targets (timeframe, timeframe_s)
{%- endmacro %}


{#- The longest target timeframe, in seconds. -#}
{% macro longest_timeframe_seconds() -%}
    {%- set lengths = [] -%}
    {%- for name, seconds in target_timeframes() -%}{%- do lengths.append(seconds) -%}{%- endfor -%}
    {{ return(lengths | max) }}
{%- endmacro %}
