-- Extract × unit capacity pooled over each unit's subtree of that extract's own tree, before
-- suppression. Every unit of the tree has a row (headcount 0 included).
-- Incremental by extract (macros/incremental_builds.sql): a new survey wave leaves every extract as it is.

{{
    config(
        materialized='incremental',
        unique_key='extract_date',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_stale_builds(extract_build_keys(ref('int_org_units_depthed'))) }}"
    )
}}

with

build_keys as (

    {{ extract_build_keys(ref('int_org_units_depthed')) }}

),

pending as (

    {{ pending_builds('build_keys') }}

),

persons as (

    select * from {{ ref('int_persons_placed') }}
    where extract_date in (select pending.extract_date from pending)

),

org_units as (

    select * from {{ ref('int_org_units_depthed') }}
    where extract_date in (select pending.extract_date from pending)

),

closure as (

    select * from {{ ref('int_org_units_closured') }}
    where extract_date in (select pending.extract_date from pending)

),

pooled as (

    select
        persons.extract_date,
        closure.ancestor_org_unit_id as org_unit_id,
        count(*) as headcount,
        {{ exact_sum('persons.fte') }} as fte,
        {{ exact_sum('persons.transformation_fte') }} as transformation_fte,
        {{ exact_sum('persons.dedicated_fte') }} as dedicated_fte

    from persons
    inner join closure
        on
            persons.extract_date = closure.extract_date
            and persons.placed_org_unit_id = closure.org_unit_id
    group by persons.extract_date, closure.ancestor_org_unit_id

)

select
    org_units.extract_date,
    org_units.org_unit_id,
    org_units.parent_org_unit_id,
    org_units.depth,
    coalesce(pooled.headcount, 0) as headcount,
    coalesce(pooled.fte, 0) as fte,
    coalesce(pooled.transformation_fte, 0) as transformation_fte,
    coalesce(pooled.dedicated_fte, 0) as dedicated_fte,
    pending.build_key as _build_key

from org_units
inner join pending on org_units.extract_date = pending.extract_date
left join pooled
    on
        org_units.extract_date = pooled.extract_date
        and org_units.org_unit_id = pooled.org_unit_id
