with

dimensions as (

    select * from {{ ref('stg_reference__dimensions') }}

)

select
    dimension_id,
    name_da,
    name_en,
    weight,
    sort_order,
    '{{ pipeline_run_id() }}' as run_id

from dimensions
