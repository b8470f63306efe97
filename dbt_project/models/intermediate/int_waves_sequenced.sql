-- Each wave with the HR extract whose org tree it uses (SPEC §3: the latest extract dated on or
-- before closes_on, else the earliest) and the wave before it in closes_on order.

with

waves as (

    select * from {{ ref('stg_surveys__waves') }}

),

extracts as (

    select distinct extract_date from {{ ref('stg_hr__org_units') }}

),

as_of as (

    select
        waves.wave_id,
        coalesce(
            max(extracts.extract_date) filter (where extracts.extract_date <= waves.closes_on),
            min(extracts.extract_date)
        ) as hr_extract_date

    from waves
    cross join extracts
    group by waves.wave_id

),

sequenced as (

    select
        waves.wave_id,
        waves.wave_label,
        waves.closes_on,
        as_of.hr_extract_date,
        lag(waves.wave_id) over (order by waves.closes_on) as previous_wave_id,
        row_number() over (order by waves.closes_on) as wave_number

    from waves
    left join as_of on waves.wave_id = as_of.wave_id

)

select * from sequenced
