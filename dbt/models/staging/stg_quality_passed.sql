-- Periods of each market table whose data passed the quality gate: the one rule every staging view uses.
with results as (
    select * from {{ source('ops', 'quality_results') }}
    where data_interval_start is not null and data_interval_end > data_interval_start
),

runs as (
    -- one quality run of one table over one window; it passed when every expectation succeeded
    select
        table_name,
        run_id,
        suite,
        data_interval_start as window_start,
        data_interval_end as window_end,
        bool_and(success) as passed,
        max(checked_at) as checked_at
    from results
    group by table_name, run_id, suite, data_interval_start, data_interval_end
),

boundaries as (
    select table_name, window_start as boundary from runs
    union
    select table_name, window_end from runs
),

segments as (
    -- the windows cut into pieces that no window boundary crosses
    select
        table_name,
        boundary as valid_from,
        lead(boundary) over (partition by table_name order by boundary) as valid_to
    from boundaries
),

verdicts as (
    -- the latest run covering each piece decides it (a failure wins a tie)
    select distinct on (segments.table_name, segments.valid_from)
        segments.table_name,
        segments.valid_from,
        segments.valid_to,
        runs.run_id,
        runs.passed,
        runs.checked_at
    from segments
    inner join runs
        on runs.table_name = segments.table_name
        and runs.window_start <= segments.valid_from
        and runs.window_end >= segments.valid_to
    where segments.valid_to is not null
    order by segments.table_name, segments.valid_from, runs.checked_at desc, runs.passed asc
)

select table_name, valid_from, valid_to, run_id, checked_at
from verdicts
where passed
