with

org_units as (

    select * from {{ ref('int_org_units_depthed') }}

)

select
    extract_date,
    org_unit_id,
    org_unit_name as name,
    parent_org_unit_id,
    org_level as level,
    depth,
    '{{ pipeline_run_id() }}' as run_id

from org_units
