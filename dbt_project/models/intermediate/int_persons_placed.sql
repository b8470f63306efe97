-- One row per person with an active employment on the extract date (SPEC §3.8): placed in the unit
-- of their active employment with the largest Beskæftigelsesgrad (ties: lowest org_unit_id), carrying
-- all their active employments' FTE and their valid team memberships.

-- Incremental by extract (macros/incremental_builds.sql): a new survey wave leaves every extract as it is.

{{
    config(
        materialized='incremental',
        unique_key='extract_date',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_stale_builds(extract_build_keys(ref('int_employments_activated'))) }}"
    )
}}

with

build_keys as (

    {{ extract_build_keys(ref('int_employments_activated')) }}

),

pending as (

    {{ pending_builds('build_keys') }}

),

active_employments as (

    select * from {{ ref('int_employments_activated') }}
    where extract_date in (select pending.extract_date from pending)

),

memberships as (

    select * from {{ ref('int_team_memberships_validated') }}
    where not is_quarantined and extract_date in (select pending.extract_date from pending)

),

placement as (

    select
        extract_date,
        person_key,
        org_unit_id as placed_org_unit_id

    from active_employments
    qualify row_number() over (
        partition by extract_date, person_key order by fte desc, org_unit_id asc
    ) = 1

),

person_fte as (

    select
        extract_date,
        person_key,
        {{ exact_sum('fte') }} as fte

    from active_employments
    group by extract_date, person_key

),

person_team as (

    select
        extract_date,
        person_key,
        {{ exact_sum('fte * share_pct / 100') }} as transformation_fte,
        coalesce({{ exact_sum('case when is_dedicated then fte * share_pct / 100 end') }}, 0) as dedicated_fte

    from memberships
    group by extract_date, person_key

)

select
    placement.extract_date,
    placement.person_key,
    placement.placed_org_unit_id,
    person_fte.fte,
    coalesce(person_team.transformation_fte, 0) as transformation_fte,
    coalesce(person_team.dedicated_fte, 0) as dedicated_fte,
    pending.build_key as _build_key

from placement
inner join pending on placement.extract_date = pending.extract_date
inner join person_fte
    on
        placement.extract_date = person_fte.extract_date
        and placement.person_key = person_fte.person_key
left join person_team
    on
        placement.extract_date = person_team.extract_date
        and placement.person_key = person_team.person_key
