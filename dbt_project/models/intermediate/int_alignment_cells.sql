-- For the exact alignment check (SPEC §3.4, §3.9): the counted respondents of each wave × dimension
-- by residual block (their nearest published ancestor-or-self unit) and role class.
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

),

closure as (

    select * from {{ ref('int_org_units_closured') }}

),

suppressed as (

    select * from {{ ref('int_unit_scores_suppressed') }}
    where wave_id in (select pending.wave_id from pending)

),

published_ancestors as (

    select
        scored.wave_id,
        scored.dimension_id,
        scored.respondent_id,
        arg_max(suppressed.org_unit_id, suppressed.depth) as block_org_unit_id

    from scored
    inner join waves on scored.wave_id = waves.wave_id
    inner join closure
        on
            waves.hr_extract_date = closure.extract_date
            and scored.org_unit_id = closure.org_unit_id
    inner join suppressed
        on
            scored.wave_id = suppressed.wave_id
            and scored.dimension_id = suppressed.dimension_id
            and closure.ancestor_org_unit_id = suppressed.org_unit_id
    where not suppressed.is_suppressed
    group by scored.wave_id, scored.dimension_id, scored.respondent_id

),

cells as (

    select
        scored.wave_id,
        scored.dimension_id,
        published_ancestors.block_org_unit_id,
        scored.role_class,
        count(*) as n_respondents

    from scored
    left join published_ancestors
        on
            scored.wave_id = published_ancestors.wave_id
            and scored.dimension_id = published_ancestors.dimension_id
            and scored.respondent_id = published_ancestors.respondent_id
    group by all

)

select
    cells.*,
    pending.build_key as _build_key

from cells
inner join pending on cells.wave_id = pending.wave_id
