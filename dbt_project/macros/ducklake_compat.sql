{#- DuckLake cannot comment on the columns of a view ("Cannot comment on columns for entry … - it is not a
    table"): there, keep the view's own comment and skip its column comments. Elsewhere as dbt-duckdb does. -#}
{% macro duckdb__alter_column_comment(relation, column_dict) %}
  {%- if not (relation.type == 'view' and adapter.is_ducklake(relation)) -%}
    {{ dbt.duckdb__alter_column_comment(relation, column_dict) }}
  {%- endif -%}
{% endmacro %}
