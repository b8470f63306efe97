-- SPEC §3.2: the weighted mean of the measured dimensions' maturity index; null when any of them is
-- suppressed (or has no index) in that row. Exact sums (macros/exact_sum.sql): the same value in every
-- build, so an earlier wave's rows do not change when a new wave is built (its report is kept).

with

scores as (

    select * from {{ ref('fct_maturity_scores') }}

),

dimensions as (

    select * from {{ ref('stg_reference__dimensions') }}

),

overall as (

    select
        scores.wave_id,
        scores.org_unit_id,
        count(*) as n_dimensions,
        case when count(scores.maturity_index) = count(*) then
            {{ exact_sum('dimensions.weight * scores.maturity_index') }} / {{ exact_sum('dimensions.weight') }}
        end as overall_index

    from scores
    inner join dimensions on scores.dimension_id = dimensions.dimension_id
    group by scores.wave_id, scores.org_unit_id

)

select
    wave_id,
    org_unit_id,
    overall_index,
    {{ maturity_band('overall_index') }} as overall_band,
    n_dimensions,
    '{{ pipeline_run_id() }}' as run_id

from overall
