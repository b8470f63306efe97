with

source as (

    select * from {{ source('reference', 'dimensions') }}

),

renamed as (

    select
        dimension_id,
        name_da,
        name_en,
        cast(weight as double) as weight,
        cast(sort_order as integer) as sort_order

    from source

)

select * from renamed
