with

waves as (

    select * from {{ ref('int_waves_sequenced') }}

)

select
    wave_id,
    wave_label as label,
    closes_on,
    hr_extract_date,
    previous_wave_id,
    wave_number,
    '{{ pipeline_run_id() }}' as run_id

from waves
