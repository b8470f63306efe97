-- Team memberships active on the extract date of active employments, with the over-allocation rule
-- (SPEC §3.8): when one employment's memberships on the date add up to more than 100 %, all of them
-- are quarantined (is_quarantined) and count nowhere. Memberships of inactive employments drop out.

with

memberships as (

    select * from {{ ref('stg_hr__team_memberships') }}

),

active_employments as (

    select * from {{ ref('int_employments_activated') }}

),

on_date as (

    select
        memberships.extract_date,
        memberships.employment_key,
        active_employments.person_key,
        active_employments.fte,
        memberships.share_pct,
        memberships.team_role,
        sum(memberships.share_pct) over (
            partition by memberships.extract_date, memberships.employment_key
        ) as employment_share_pct

    from memberships
    inner join active_employments
        on
            memberships.extract_date = active_employments.extract_date
            and memberships.employment_key = active_employments.employment_key
    where
        (memberships.valid_from is null or memberships.valid_from <= memberships.extract_date)
        and (memberships.valid_to is null or memberships.valid_to >= memberships.extract_date)

)

select
    *,
    employment_share_pct > 100 as is_quarantined,
    share_pct >= 80 as is_dedicated

from on_date
