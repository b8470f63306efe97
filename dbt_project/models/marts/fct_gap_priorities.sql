-- SPEC §3.3: gap priorities at the root of each wave's tree, with importance–performance quadrants.

with

pooled as (

    select * from {{ ref('int_unit_scores_pooled') }}
    where depth = 0

),

scores as (

    select * from {{ ref('fct_maturity_scores') }}

),

dimensions as (

    select * from {{ ref('stg_reference__dimensions') }}

),

root as (

    select
        pooled.wave_id,
        pooled.dimension_id,
        scores.gap_index,
        scores.maturity_index,
        dimensions.weight,
        dimensions.sort_order,
        scores.gap_index * dimensions.weight as priority_score,
        case
            when
                pooled.has_importance
                and not scores.is_suppressed
                and pooled.n_importance >= {{ var('min_cell') }}
                then 100 * (pooled.importance_mean - pooled.importance_scale_min)
                / (pooled.importance_scale_max - pooled.importance_scale_min)
        end as importance_index

    from pooled
    inner join scores
        on
            pooled.wave_id = scores.wave_id
            and pooled.org_unit_id = scores.org_unit_id
            and pooled.dimension_id = scores.dimension_id
    inner join dimensions on pooled.dimension_id = dimensions.dimension_id

),

ranked as (

    select
        *,
        case when priority_score is not null then
            row_number() over (
                partition by wave_id, priority_score is null
                order by priority_score desc, sort_order asc, dimension_id asc
            )
        end as priority_rank,
        avg(maturity_index) filter (
            where maturity_index is not null and importance_index is not null
        ) over (partition by wave_id) as mean_maturity_index,
        avg(importance_index) filter (
            where maturity_index is not null and importance_index is not null
        ) over (partition by wave_id) as mean_importance_index

    from root

)

select
    wave_id,
    dimension_id,
    gap_index,
    weight,
    priority_score,
    priority_rank,
    importance_index,
    case
        when maturity_index is null or importance_index is null then null
        when importance_index >= mean_importance_index and maturity_index < mean_maturity_index
            then 'concentrate_here'
        when importance_index >= mean_importance_index then 'keep_up'
        when maturity_index < mean_maturity_index then 'low_priority'
        else 'possible_overkill'
    end as ipa_quadrant,
    maturity_index,
    '{{ pipeline_run_id() }}' as run_id

from ranked
