with

source as (

    select * from {{ source('hr', 'team_memberships') }}

),

renamed as (

    select
        extract_date,
        employment_key,
        share_pct,
        team_role,
        valid_from,
        valid_to

    from source

)

select * from renamed
