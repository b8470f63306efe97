with

source as (

    select * from {{ source('hr', 'org_units') }}

),

renamed as (

    select
        extract_date,
        org_unit_id,
        org_unit_name,
        parent_org_unit_id,
        level as org_level

    from source

)

select * from renamed
