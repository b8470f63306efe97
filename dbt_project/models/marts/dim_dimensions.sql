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
    '{{ var("run_id", invocation_id) }}' as run_id

from dimensions
