with

source as (

    select * from {{ source('surveys', 'survey_answers') }}

),

renamed as (

    select
        wave_id,
        respondent_id,
        variable_name,
        dimension_id,
        aspect,
        value as answer_value,
        answer_status

    from source

)

select * from renamed
