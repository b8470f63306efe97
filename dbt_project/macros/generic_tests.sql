{#- Generic data tests used across the marts (no dbt packages: this project installs offline). -#}

{% test unique_key(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{% test within_range(model, column_name, min_value=none, max_value=none) %}
    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and (
            {% if min_value is not none %}{{ column_name }} < {{ min_value }}{% else %}false{% endif %}
            or {% if max_value is not none %}{{ column_name }} > {{ max_value }}{% else %}false{% endif %}
        )
{% endtest %}

{% test null_when_suppressed(model, columns) %}
    select *
    from {{ model }}
    where
        is_suppressed
        and ({% for c in columns %}{{ c }} is not null{% if not loop.last %} or {% endif %}{% endfor %})
{% endtest %}
