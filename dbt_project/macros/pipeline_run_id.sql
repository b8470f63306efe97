{#- The pipeline run that built the marts (Airflow chain id), stamped on every mart row.
    From the environment, not a --vars value: a var that changes every run makes dbt discard its
    partial-parse cache and re-parse the whole project (~3 s); a changed env var only re-parses the
    files that use it. Outside Airflow it falls back to dbt's own invocation id. -#}
{% macro pipeline_run_id() -%}
    {{ return(env_var("MATURITY_RUN_ID", invocation_id)) }}
{%- endmacro %}
