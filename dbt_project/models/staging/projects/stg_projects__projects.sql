with

source as (

    select * from {{ source('projects', 'projects') }}

),

renamed as (

    select
        extract_date,
        project_id,
        project_name,
        owner_org_unit_id,
        status as project_status,
        status in ('Planlagt', 'I gang') as is_active,
        start_date,
        end_date,
        budget_dkk,
        spent_dkk,
        coalesce(is_masterplan, false) as is_masterplan,
        coalesce(is_budget_process, false) as is_budget_process,
        dimension_ids

    from source

)

select * from renamed
