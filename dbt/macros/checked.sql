{#-
    The FROM clause of a staging view: the rows of market table `relation` (named `table` in
    ops.quality_results) that lie in a period of stg_quality_passed and were ingested no later than the
    check that passed it, as `alias`, with `checked_until`, the end of that period. The lateral subquery
    is fenced (offset 0) so that each period reads only its own time range (runtime partition pruning
    and the ts BRIN index), however many periods there are; a model reading a recent tail filters on
    checked_until as well as ts, so older periods are not read at all.
-#}
{% macro from_checked(relation, table, alias) -%}
    {{ ref('stg_quality_passed') }} as passed
    cross join lateral (
        select checked.*, passed.valid_to as checked_until
        from {{ relation }} as checked
        where checked.ts >= passed.valid_from
            and checked.ts < passed.valid_to
            and checked.ingested_at <= passed.checked_at
        offset 0
    ) as {{ alias }}
    where passed.table_name = '{{ table }}'
{%- endmacro %}
