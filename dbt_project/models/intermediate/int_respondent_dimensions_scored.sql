-- Respondent × dimension scores (SPEC §3.1): cur_rd, tgt_rd and imp_rd are the means of the
-- respondent's valid answers. Only answered respondents placed in their wave's tree, and only the
-- respondents that *count* for the dimension (a current score, and a target score when the
-- dimension has target items), so every statistic of a unit row covers the same people.
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

respondents as (

    select * from {{ ref('stg_surveys__respondents') }}
    where is_answered and wave_id in (select pending.wave_id from pending)

),

answers as (

    select * from {{ ref('stg_surveys__answers') }}
    where answer_status = 'valid' and wave_id in (select pending.wave_id from pending)

),

waves as (

    select * from {{ ref('int_waves_sequenced') }}

),

org_units as (

    select * from {{ ref('int_org_units_depthed') }}

),

wave_dimensions as (

    select * from {{ ref('int_wave_dimensions_mapped') }}

),

scores as (

    select
        wave_id,
        respondent_id,
        dimension_id,
        avg(answer_value) filter (where aspect = 'current') as cur_rd,
        avg(answer_value) filter (where aspect = 'target') as tgt_rd,
        avg(answer_value) filter (where aspect = 'importance') as imp_rd

    from answers
    group by wave_id, respondent_id, dimension_id

),

placed as (

    select respondents.*
    from respondents
    inner join waves on respondents.wave_id = waves.wave_id
    inner join org_units
        on
            waves.hr_extract_date = org_units.extract_date
            and respondents.org_unit_id = org_units.org_unit_id

),

counted as (

    select
        placed.wave_id,
        placed.respondent_id,
        placed.org_unit_id,
        placed.role,
        placed.role_class,
        scores.dimension_id,
        scores.cur_rd,
        case when wave_dimensions.has_target then scores.tgt_rd end as tgt_rd,
        case when wave_dimensions.has_importance then scores.imp_rd end as imp_rd

    from placed
    inner join scores
        on
            placed.wave_id = scores.wave_id
            and placed.respondent_id = scores.respondent_id
    inner join wave_dimensions
        on
            scores.wave_id = wave_dimensions.wave_id
            and scores.dimension_id = wave_dimensions.dimension_id
    where
        scores.cur_rd is not null
        and (not wave_dimensions.has_target or scores.tgt_rd is not null)

)

select
    counted.*,
    pending.build_key as _build_key

from counted
inner join pending on counted.wave_id = pending.wave_id
