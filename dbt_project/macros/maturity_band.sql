{#- SPEC §3.1 bands: [0,25] basis, (25,50] gennemsnitlig, (50,75] moderat_avanceret, (75,100] avanceret. -#}
{% macro maturity_band(index_column) -%}
    case
        when {{ index_column }} is null then null
        when {{ index_column }} <= 25 then 'basis'
        when {{ index_column }} <= 50 then 'gennemsnitlig'
        when {{ index_column }} <= 75 then 'moderat_avanceret'
        else 'avanceret'
    end
{%- endmacro %}
