-- SPEC §3.8: persons, FTE and transformation-team FTE per unit of each HR extract's own tree,
-- suppressed by the §3.9 rule with n = headcount (a suppressed row is all null).

with

pooled as (

    select * from {{ ref('int_capacity_pooled') }}

),

suppressed as (

    select * from {{ ref('int_capacity_suppressed') }}

)

select
    pooled.extract_date,
    pooled.org_unit_id,
    case when not suppressed.is_suppressed then pooled.headcount end as headcount,
    case when not suppressed.is_suppressed then pooled.fte end as fte,
    case when not suppressed.is_suppressed then pooled.transformation_fte end as transformation_fte,
    case when not suppressed.is_suppressed then pooled.dedicated_fte end as dedicated_fte,
    case when not suppressed.is_suppressed then
        pooled.dedicated_fte / nullif(pooled.transformation_fte, 0)
    end as dedicated_share,
    suppressed.is_suppressed,
    '{{ pipeline_run_id() }}' as run_id

from pooled
inner join suppressed
    on
        pooled.extract_date = suppressed.extract_date
        and pooled.org_unit_id = suppressed.org_unit_id
