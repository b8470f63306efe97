-- The dimensions each wave measures (at least one `current` item) with their scales. Ingest has
-- rejected mappings whose current/target items of a dimension do not share one scale.

with

mappings as (

    select * from {{ ref('stg_surveys__mappings') }}
    where variable_use in ('current', 'target', 'importance')

),

mapped as (

    select
        wave_id,
        dimension_id,
        min(scale_min) filter (where variable_use in ('current', 'target')) as scale_min,
        max(scale_max) filter (where variable_use in ('current', 'target')) as scale_max,
        count(*) filter (where variable_use = 'target') > 0 as has_target,
        count(*) filter (where variable_use = 'importance') > 0 as has_importance,
        min(scale_min) filter (where variable_use = 'importance') as importance_scale_min,
        max(scale_max) filter (where variable_use = 'importance') as importance_scale_max

    from mappings
    group by wave_id, dimension_id
    having count(*) filter (where variable_use = 'current') > 0

)

select * from mapped
