{#-
    A CTE body giving `start`, where a build of an incremental model starts recomputing; models name the
    CTE `recompute` and use `(select start from recompute)` (evaluated once per query). A full build
    starts at -infinity. An incremental build starts at midnight UTC on or before the earliest of
      - the newest stored ts minus var recompute_lookback (a safety net for late rows), and
      - the earliest window start of every quality run recorded since this model was last built (what
        staging shows changes only inside such windows), less var quality_recheck_margin,
    minus `reach` (an SQL interval) for a model whose rows look ahead (labels). Every target timeframe
    divides a day, so no bar straddles the start. The last build's time is read from the newest rows
    (every build rewrites them). Pass `incremental=is_incremental()` from the model (unit tests override it).
-#}
{% macro recompute_start(incremental, reach=none) -%}
    {%- set quality_results = source('ops', 'quality_results') -%}
    {%- if not incremental -%}
    select timestamptz '-infinity' as start
    {%- else -%}
    select case when earliest = '-infinity' then earliest
                else date_bin(interval '1 day', earliest, timestamptz '1970-01-01 00:00:00+00') end as start
    from (
        select least(
            coalesce(newest - interval '{{ var("recompute_lookback") }}', timestamptz '-infinity'),
            (select min(data_interval_start) from {{ quality_results }}
             where checked_at > last_built - interval '{{ var("quality_recheck_margin") }}')
        ){% if reach %} - {{ reach }}{% endif %} as earliest
        from (
            select newest, (select max(built_at) from {{ this }} where ts >= newest - interval '{{ var("recompute_lookback") }}') as last_built
            from (select max(ts) as newest from {{ this }}) as stored
        ) as state
    ) as recompute_start
    {%- endif -%}
{%- endmacro %}


{#-
    `built_at` of the rows a build writes: the database's clock at the start of the model's transaction
    (the clock checked_at uses too, so recompute_from compares like with like).
-#}
{% macro build_time() -%}
    now()
{%- endmacro %}


{#-
    Incremental strategy `replace_tail`. The model returns every row from its recompute start on and
    stores that start in the column `recomputed_from` (NULL: from the first row); the last column of
    unique_key is the time. Delete the stored rows from that start on, then insert the new rows. Unlike delete+insert,
    rows no longer produced in the recomputed range (a bar whose window was re-checked and failed, say)
    disappear too. A build that produces no row at all deletes nothing.
-#}
{% macro get_incremental_replace_tail_sql(arg_dict) %}
    {%- set unique_key = arg_dict["unique_key"] -%}
    {%- if unique_key is string or unique_key | length < 2 -%}
        {{ exceptions.raise_compiler_error("replace_tail needs unique_key = [series columns ..., time column]") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    delete from {{ arg_dict["target_relation"] }}
    where {{ unique_key[-1] }} >= (
        select coalesce(min(recomputed_from), timestamptz '-infinity')
        from {{ arg_dict["temp_relation"] }}
        having count(*) > 0
    );

    insert into {{ arg_dict["target_relation"] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict["temp_relation"] }}
{% endmacro %}
