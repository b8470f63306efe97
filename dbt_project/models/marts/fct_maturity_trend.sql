-- SPEC §3.5: change in maturity index since the previous wave (next earlier closes_on), same unit and
-- dimension, from published (unsuppressed) values only.

with

scores as (

    select * from {{ ref('fct_maturity_scores') }}

),

waves as (

    select * from {{ ref('int_waves_sequenced') }}

)

select
    scores.wave_id,
    scores.org_unit_id,
    scores.dimension_id,
    waves.previous_wave_id,
    scores.maturity_index,
    previous.maturity_index as previous_maturity_index,
    scores.maturity_index - previous.maturity_index as delta_index,
    '{{ pipeline_run_id() }}' as run_id

from scores
inner join waves on scores.wave_id = waves.wave_id
left join scores as previous
    on
        waves.previous_wave_id = previous.wave_id
        and scores.org_unit_id = previous.org_unit_id
        and scores.dimension_id = previous.dimension_id
