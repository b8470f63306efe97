{#- The pipeline run that built the marts (Airflow chain id), stamped on every mart row.
    From the environment, not a --vars value: a var that changes every run makes dbt discard its
    partial-parse cache and re-parse the whole project (~3 s). And read only when dbt executes, not
    while it parses: an env var read at parse time is recorded in the partial-parse state, and since
    this one changes every run, every mart file would be re-parsed every run (~1 s). Outside Airflow
    it falls back to dbt's own invocation id. -#}
{% macro pipeline_run_id() -%}
    {%- if execute -%}
        {{ return(env_var("MATURITY_RUN_ID", invocation_id)) }}
    {%- else -%}
        {{ return(invocation_id) }}
    {%- endif -%}
{%- endmacro %}
