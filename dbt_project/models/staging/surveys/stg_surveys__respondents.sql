with

source as (

    select * from {{ source('surveys', 'survey_respondents') }}

),

renamed as (

    select
        wave_id,
        respondent_id,
        org_unit_id,
        role,
        case
            when role in ('direktion', 'chef') then 'top'
            when role = 'leder' then 'leader'
            else 'other'
        end as role_class,
        is_distributed,
        is_answered,
        is_completed

    from source

)

select * from renamed
