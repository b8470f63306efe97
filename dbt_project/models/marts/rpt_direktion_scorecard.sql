-- SPEC §3.10: one row per wave for the direktion, all figures at the root of the wave's tree.

with

waves as (

    select * from {{ ref('int_waves_sequenced') }}

),

org_units as (

    select * from {{ ref('int_org_units_depthed') }}
    where depth = 0

),

overall as (

    select * from {{ ref('fct_maturity_overall') }}

),

scores as (

    select * from {{ ref('fct_maturity_scores') }}

),

rates as (

    select * from {{ ref('fct_response_rates') }}

),

priorities as (

    select * from {{ ref('fct_gap_priorities') }}

),

coverage as (

    select * from {{ ref('fct_portfolio_coverage') }}

),

capacity as (

    select * from {{ ref('fct_transformation_capacity') }}

),

roots as (

    select
        waves.wave_id,
        waves.closes_on,
        waves.previous_wave_id,
        waves.hr_extract_date,
        org_units.org_unit_id as root_org_unit_id

    from waves
    inner join org_units on waves.hr_extract_date = org_units.extract_date

),

top_gaps as (

    select
        wave_id,
        string_agg(dimension_id, ',' order by priority_rank) as top_gaps

    from priorities
    where priority_rank <= 3
    group by wave_id

),

consensus as (

    select
        roots.wave_id,
        {{ exact_avg('scores.consensus_rwg') }} as mean_consensus_rwg

    from roots
    inner join scores
        on
            roots.wave_id = scores.wave_id
            and roots.root_org_unit_id = scores.org_unit_id
    group by roots.wave_id

),

projects_extracts as (

    select
        wave_id,
        max(extract_date) as projects_extract_date

    from coverage
    where wave_id is not null
    group by wave_id

),

uncovered as (

    select
        projects_extracts.wave_id,
        projects_extracts.projects_extract_date,
        count(*) filter (where coverage.is_uncovered) as uncovered_dimensions

    from projects_extracts
    inner join coverage
        on
            projects_extracts.wave_id = coverage.wave_id
            and projects_extracts.projects_extract_date = coverage.extract_date
    group by projects_extracts.wave_id, projects_extracts.projects_extract_date

)

select
    roots.wave_id,
    roots.closes_on,
    overall.overall_index,
    overall.overall_band,
    previous_overall.overall_index as previous_overall_index,
    rates.response_rate,
    top_gaps.top_gaps,
    consensus.mean_consensus_rwg,
    uncovered.projects_extract_date,
    uncovered.uncovered_dimensions,
    capacity.transformation_fte,
    capacity.dedicated_share,
    roots.hr_extract_date,
    '{{ pipeline_run_id() }}' as run_id

from roots
left join overall
    on
        roots.wave_id = overall.wave_id
        and roots.root_org_unit_id = overall.org_unit_id
left join roots as previous_roots on roots.previous_wave_id = previous_roots.wave_id
left join overall as previous_overall
    on
        previous_roots.wave_id = previous_overall.wave_id
        and previous_roots.root_org_unit_id = previous_overall.org_unit_id
left join rates
    on
        roots.wave_id = rates.wave_id
        and roots.root_org_unit_id = rates.org_unit_id
left join top_gaps on roots.wave_id = top_gaps.wave_id
left join consensus on roots.wave_id = consensus.wave_id
left join uncovered on roots.wave_id = uncovered.wave_id
left join capacity
    on
        roots.hr_extract_date = capacity.extract_date
        and roots.root_org_unit_id = capacity.org_unit_id
