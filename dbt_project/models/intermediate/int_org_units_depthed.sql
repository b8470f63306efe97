-- Every unit of every HR extract with its depth (root 0) and its path from the root.
-- Ingest has rejected extracts that are not one tree, so the recursion reaches every unit.

with recursive

org_units as (

    select * from {{ ref('stg_hr__org_units') }}

),

walk as (

    select
        extract_date,
        org_unit_id,
        parent_org_unit_id,
        0 as depth,
        [org_unit_id] as path

    from org_units
    where parent_org_unit_id is null

    union all

    select
        child.extract_date,
        child.org_unit_id,
        child.parent_org_unit_id,
        walk.depth + 1 as depth,
        list_append(walk.path, child.org_unit_id) as path

    from org_units as child
    inner join walk
        on
            child.extract_date = walk.extract_date
            and child.parent_org_unit_id = walk.org_unit_id

)

select
    walk.extract_date,
    walk.org_unit_id,
    org_units.org_unit_name,
    walk.parent_org_unit_id,
    org_units.org_level,
    walk.depth,
    walk.path

from walk
inner join org_units
    on
        walk.extract_date = org_units.extract_date
        and walk.org_unit_id = org_units.org_unit_id
