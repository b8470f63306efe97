-- The closure of each extract's tree: one row per (ancestor, descendant) pair, a unit being its own
-- ancestor. Joining facts on org_unit_id and grouping by ancestor pools every unit's subtree.

with

depthed as (

    select * from {{ ref('int_org_units_depthed') }}

),

closured as (

    select
        extract_date,
        unnest(path) as ancestor_org_unit_id,
        org_unit_id

    from depthed

)

select * from closured
