{#- A sum of doubles that is the same in every build. DuckDB adds a double column in whatever order its
    threads meet the rows, so two builds of the same data differ in the last bits (kl: ~9 of 16,372 capacity
    rows beyond 1e-9 after rounding), and every report looks changed. Summed as DECIMAL(38,18) the result is
    exact for the 18-decimal values and independent of the order (as fast, and closer to the true sum). -#}
{% macro exact_sum(expression) -%}
    sum(({{ expression }})::decimal(38, 18))::double
{%- endmacro %}

{#- The mean of the same exact sum: `avg` over doubles is order-dependent in the same way. Null over no rows. -#}
{% macro exact_avg(expression) -%}
    ({{ exact_sum(expression) }} / count({{ expression }}))
{%- endmacro %}
