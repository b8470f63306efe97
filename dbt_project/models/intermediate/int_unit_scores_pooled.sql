-- Wave × unit × dimension statistics pooled over each unit's subtree, before suppression.
-- One row for every unit of the wave's tree and every dimension the wave measures (n = 0 included).
-- Incremental by wave (macros/incremental_builds.sql): only the waves whose inputs changed are computed.

{{
    config(
        materialized='incremental',
        unique_key='wave_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_stale_builds(wave_build_keys()) }}"
    )
}}

with

build_keys as (

    {{ wave_build_keys() }}

),

pending as (

    {{ pending_builds('build_keys') }}

),

scored as (

    select * from {{ ref('int_respondent_dimensions_scored') }}
    where wave_id in (select pending.wave_id from pending)

),

waves as (

    select * from {{ ref('int_waves_sequenced') }}
    where wave_id in (select pending.wave_id from pending)

),

org_units as (

    select * from {{ ref('int_org_units_depthed') }}

),

closure as (

    select * from {{ ref('int_org_units_closured') }}

),

wave_dimensions as (

    select * from {{ ref('int_wave_dimensions_mapped') }}

),

grid as (

    select
        waves.wave_id,
        waves.hr_extract_date,
        org_units.org_unit_id,
        org_units.parent_org_unit_id,
        org_units.depth,
        wave_dimensions.dimension_id,
        wave_dimensions.scale_min,
        wave_dimensions.scale_max,
        wave_dimensions.has_target,
        wave_dimensions.has_importance,
        wave_dimensions.importance_scale_min,
        wave_dimensions.importance_scale_max

    from waves
    inner join org_units on waves.hr_extract_date = org_units.extract_date
    inner join wave_dimensions on waves.wave_id = wave_dimensions.wave_id

),

pooled as (

    select
        scored.wave_id,
        closure.ancestor_org_unit_id as org_unit_id,
        scored.dimension_id,
        count(*) as n_respondents,
        sum(scored.cur_rd) as current_sum,
        avg(scored.cur_rd) as current_mean,
        stddev_samp(scored.cur_rd) as current_sd,
        avg(scored.tgt_rd) as target_mean,
        avg(scored.tgt_rd - scored.cur_rd) as gap_mean,
        count(scored.imp_rd) as n_importance,
        avg(scored.imp_rd) as importance_mean

    from scored
    inner join waves on scored.wave_id = waves.wave_id
    inner join closure
        on
            waves.hr_extract_date = closure.extract_date
            and scored.org_unit_id = closure.org_unit_id
    group by scored.wave_id, closure.ancestor_org_unit_id, scored.dimension_id

)

select
    grid.*,
    coalesce(pooled.n_respondents, 0) as n_respondents,
    pooled.current_sum,
    pooled.current_mean,
    pooled.current_sd,
    pooled.target_mean,
    pooled.gap_mean,
    coalesce(pooled.n_importance, 0) as n_importance,
    pooled.importance_mean,
    pending.build_key as _build_key

from grid
inner join pending on grid.wave_id = pending.wave_id
left join pooled
    on
        grid.wave_id = pooled.wave_id
        and grid.org_unit_id = pooled.org_unit_id
        and grid.dimension_id = pooled.dimension_id
