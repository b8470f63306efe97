with

source as (

    select * from {{ source('ingest', 'snapshots') }}

),

renamed as (

    select
        source,
        snapshot_key,
        fingerprint,
        load_id,
        loaded_at

    from source

)

select * from renamed
