{#- Incremental builds of the large intermediate models: a wave (or HR extract) is computed again only
    when something it is a function of changed, so a new survey wave computes that wave, not every wave
    before it again (issue 7). Each such model keeps, on every row, the `_build_key` of what its wave was
    computed from: the dbt project's code and the privacy rule (build_code_key), min_cell, and the
    fingerprints of the landed snapshots the wave reads (raw.snapshots: the wave's survey snapshot, the
    HR extract whose tree it uses, the reference data) and the wave's dimension mapping. A wave whose key
    is not in the table is computed (delete+insert by wave); rows whose key is no longer current — a wave
    removed from the landing area — are deleted by the model's post-hook. -#}

{% macro build_code_key() -%}
    {#- maturity.transform.code_fingerprint(), passed as MATURITY_DBT_CODE by the pipeline: changing any
        model, macro or the privacy rule computes every wave again. Without it (a plain `dbt build`, or
        empty), dbt's invocation id: every wave is computed, as by a full refresh. Read only when dbt
        executes (see pipeline_run_id: an env var read at parse time defeats partial parsing). -#}
    {%- set code = env_var("MATURITY_DBT_CODE", "") if execute else "" -%}
    {{ return(code or invocation_id) }}
{%- endmacro %}

{% macro snapshot_fingerprint(alias) -%}
    {#- A snapshot's fingerprint; a wave or extract without one (no raw.snapshots row) gets this run's
        invocation id, so it is computed in every build rather than trusted. -#}
    coalesce({{ alias }}.fingerprint, '{{ invocation_id }}')
{%- endmacro %}

{% macro wave_build_keys() -%}
    select
        waves.wave_id,
        md5(concat_ws(
            '|',
            '{{ build_code_key() }}',
            '{{ var("min_cell") }}',
            waves.wave_id,
            coalesce(cast(waves.hr_extract_date as varchar), ''),
            {{ snapshot_fingerprint('survey') }},
            {{ snapshot_fingerprint('hr') }},
            coalesce((
                select string_agg(reference.fingerprint, ',' order by reference.snapshot_key)
                from {{ ref('stg_ingest__snapshots') }} as reference
                where reference.source = 'reference'
            ), ''),
            coalesce((
                select cast(sum(hash(mapped)) as varchar)
                from {{ ref('int_wave_dimensions_mapped') }} as mapped
                where mapped.wave_id = waves.wave_id
            ), '')
        )) as build_key

    from {{ ref('int_waves_sequenced') }} as waves
    left join {{ ref('stg_ingest__snapshots') }} as survey
        on survey.source = 'surveys' and waves.wave_id = survey.snapshot_key
    left join {{ ref('stg_ingest__snapshots') }} as hr
        on hr.source = 'hr' and cast(waves.hr_extract_date as varchar) = hr.snapshot_key
{%- endmacro %}

{% macro extract_build_keys(extracts) -%}
    {#- `extracts`: a relation with the model's extract_date values. -#}
    select
        extracts.extract_date,
        md5(concat_ws(
            '|',
            '{{ build_code_key() }}',
            cast(extracts.extract_date as varchar),
            {{ snapshot_fingerprint('hr') }}
        )) as build_key

    from (select distinct extract_date from {{ extracts }}) as extracts
    left join {{ ref('stg_ingest__snapshots') }} as hr
        on hr.source = 'hr' and cast(extracts.extract_date as varchar) = hr.snapshot_key
{%- endmacro %}

{% macro pending_builds(keys) -%}
    {#- The keys of `keys` (a CTE with build_key) this table does not hold yet: all of them when the table
        is built from scratch, or was built before it had keys. -#}
    {%- set built = adapter.get_columns_in_relation(this) | map(attribute='name') | list
                    if this is not none and is_incremental() else [] %}
    select * from {{ keys }}
    {% if '_build_key' in built -%}
        where not exists (
            select 1 from {{ this }} as built
            where built._build_key = {{ keys }}.build_key
        )
    {%- endif %}
{%- endmacro %}

{% macro delete_stale_builds(keys_sql) -%}
    {#- Post-hook: drop the rows whose key is not current (their wave or extract left the landing area;
        a changed one was already replaced by delete+insert), and rows of a table built before it had keys
        whose wave was not built again. -#}
    delete from {{ this }}
    where _build_key is null or _build_key not in (select build_key from ({{ keys_sql }}) as current_keys)
{%- endmacro %}
