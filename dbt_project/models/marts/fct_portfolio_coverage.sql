-- SPEC §3.7: for each projects extract and each dimension of dimensions.csv, the active projects and
-- their budget split equally over each project's known dimension ids, against the gap of the latest
-- wave closed on or before the extract date.

with

projects as (

    select * from {{ ref('stg_projects__projects') }}

),

dimensions as (

    select * from {{ ref('stg_reference__dimensions') }}

),

waves as (

    select * from {{ ref('int_waves_sequenced') }}

),

priorities as (

    select * from {{ ref('fct_gap_priorities') }}

),

extracts as (

    select distinct extract_date from projects

),

extract_waves as (

    select
        extracts.extract_date,
        max_by(waves.wave_id, waves.closes_on) as wave_id

    from extracts
    left join waves on waves.closes_on <= extracts.extract_date
    group by extracts.extract_date

),

splits as (

    select
        extract_date,
        project_id,
        unnest(dimension_ids) as dimension_id,
        budget_dkk / len(dimension_ids) as budget_share_dkk,
        spent_dkk / len(dimension_ids) as spent_share_dkk,
        is_masterplan,
        is_budget_process

    from projects
    where is_active and len(dimension_ids) > 0

),

covered as (

    select
        extract_date,
        dimension_id,
        count(*) as n_active_projects,
        -- Exact sums (macros/exact_sum.sql), the same in every build, so an unchanged extract's rows and
        -- reports stay as they are; rounded to 1e-6 DKK, far below an øre, so that the shares of a split
        -- budget add up to the budget again (3 × 100000/3 = 100000, not 99999.99999999999).
        round({{ exact_sum('budget_share_dkk') }}, 6) as active_budget_dkk,
        round({{ exact_sum('spent_share_dkk') }}, 6) as active_spent_dkk,
        round({{ exact_sum('case when is_masterplan then budget_share_dkk end') }}, 6) as masterplan_budget_dkk,
        round({{ exact_sum('case when is_budget_process then budget_share_dkk end') }}, 6)
            as budget_process_budget_dkk

    from splits
    group by extract_date, dimension_id

),

grid as (

    select
        extract_waves.extract_date,
        extract_waves.wave_id,
        dimensions.dimension_id

    from extract_waves
    cross join dimensions

)

select
    grid.extract_date,
    grid.dimension_id,
    grid.wave_id,
    priorities.gap_index,
    coalesce(covered.n_active_projects, 0) as n_active_projects,
    coalesce(covered.active_budget_dkk, 0) as active_budget_dkk,
    coalesce(covered.active_spent_dkk, 0) as active_spent_dkk,
    coalesce(covered.masterplan_budget_dkk, 0) / nullif(covered.active_budget_dkk, 0) as masterplan_budget_share,
    coalesce(covered.budget_process_budget_dkk, 0) / nullif(covered.active_budget_dkk, 0)
        as budget_process_share,
    case
        when priorities.gap_index is null then null
        else priorities.gap_index >= 25 and coalesce(covered.n_active_projects, 0) = 0
    end as is_uncovered,
    '{{ pipeline_run_id() }}' as run_id

from grid
left join priorities
    on
        grid.wave_id = priorities.wave_id
        and grid.dimension_id = priorities.dimension_id
left join covered
    on
        grid.extract_date = covered.extract_date
        and grid.dimension_id = covered.dimension_id
