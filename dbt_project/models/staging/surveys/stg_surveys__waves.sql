with

source as (

    select * from {{ source('surveys', 'survey_waves') }}

),

renamed as (

    select
        wave_id,
        label as wave_label,
        closes_on,
        export_format

    from source

)

select * from renamed
