-- SPEC §3.1. A suppressed row keeps its keys and is_suppressed; every statistic is null.

with

pooled as (

    select * from {{ ref('int_unit_scores_pooled') }}

),

suppressed as (

    select * from {{ ref('int_unit_scores_suppressed') }}

),

scored as (

    select
        pooled.wave_id,
        pooled.org_unit_id,
        pooled.dimension_id,
        suppressed.is_suppressed,
        pooled.scale_min,
        pooled.scale_max,
        pooled.has_target,
        pooled.n_respondents,
        pooled.current_mean,
        pooled.current_sd,
        pooled.target_mean,
        pooled.gap_mean,
        (pooled.scale_max - pooled.scale_min + 1) as scale_points

    from pooled
    inner join suppressed
        on
            pooled.wave_id = suppressed.wave_id
            and pooled.dimension_id = suppressed.dimension_id
            and pooled.org_unit_id = suppressed.org_unit_id

),

indexed as (

    select
        wave_id,
        org_unit_id,
        dimension_id,
        is_suppressed,
        scale_min,
        scale_max,
        case when not is_suppressed then n_respondents end as n_respondents,
        case when not is_suppressed then current_mean end as current_mean,
        case when not is_suppressed then current_sd end as current_sd,
        case when not is_suppressed and current_sd is not null then
            greatest(0, 1 - current_sd ^ 2 / ((scale_points ^ 2 - 1) / 12))
        end as consensus_rwg,
        case when not is_suppressed and has_target then target_mean end as target_mean,
        case when not is_suppressed and has_target then gap_mean end as gap_mean,
        case when not is_suppressed then
            100 * (current_mean - scale_min) / (scale_max - scale_min)
        end as maturity_index,
        case when not is_suppressed and has_target then
            100 * (target_mean - scale_min) / (scale_max - scale_min)
        end as target_index,
        case when not is_suppressed and has_target then
            100 * gap_mean / (scale_max - scale_min)
        end as gap_index

    from scored

)

select
    wave_id,
    org_unit_id,
    dimension_id,
    n_respondents,
    current_mean,
    current_sd,
    consensus_rwg,
    target_mean,
    gap_mean,
    maturity_index,
    target_index,
    gap_index,
    {{ maturity_band('maturity_index') }} as maturity_band,
    is_suppressed,
    scale_min,
    scale_max,
    '{{ pipeline_run_id() }}' as run_id

from indexed
