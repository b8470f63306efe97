-- SPEC §3.6: distributed, answered and completed respondents pooled over each unit's subtree.
-- Quarantined respondents (unknown org unit, duplicates) are not loaded and count nowhere.

with

respondents as (

    select * from {{ ref('stg_surveys__respondents') }}

),

waves as (

    select * from {{ ref('int_waves_sequenced') }}

),

org_units as (

    select * from {{ ref('int_org_units_depthed') }}

),

closure as (

    select * from {{ ref('int_org_units_closured') }}

),

pooled as (

    select
        respondents.wave_id,
        closure.ancestor_org_unit_id as org_unit_id,
        count(*) filter (where respondents.is_distributed) as distributed,
        count(*) filter (where respondents.is_answered) as answered,
        count(*) filter (where respondents.is_completed) as completed

    from respondents
    inner join waves on respondents.wave_id = waves.wave_id
    inner join closure
        on
            waves.hr_extract_date = closure.extract_date
            and respondents.org_unit_id = closure.org_unit_id
    group by respondents.wave_id, closure.ancestor_org_unit_id

),

grid as (

    select
        waves.wave_id,
        org_units.org_unit_id

    from waves
    inner join org_units on waves.hr_extract_date = org_units.extract_date

)

select
    grid.wave_id,
    grid.org_unit_id,
    coalesce(pooled.distributed, 0) as distributed,
    coalesce(pooled.answered, 0) as answered,
    coalesce(pooled.completed, 0) as completed,
    pooled.answered / nullif(pooled.distributed, 0) as response_rate,
    '{{ pipeline_run_id() }}' as run_id

from grid
left join pooled
    on
        grid.wave_id = pooled.wave_id
        and grid.org_unit_id = pooled.org_unit_id
