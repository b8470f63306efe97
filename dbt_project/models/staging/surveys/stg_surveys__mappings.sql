with

source as (

    select * from {{ source('surveys', 'survey_mapping') }}

),

renamed as (

    select
        wave_id,
        variable_name,
        use as variable_use,
        dimension_id,
        scale_min,
        scale_max,
        is_wave_override

    from source

)

select * from renamed
