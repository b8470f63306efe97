with

source as (

    select * from {{ source('hr', 'employments') }}

),

renamed as (

    select
        extract_date,
        person_key,
        employment_key,
        start_date,
        end_date,
        org_unit_id,
        position_code,
        fte,
        status_code

    from source

)

select * from renamed
