{#- Fails on every NaN or infinite value (NULL is allowed). -#}
{% test finite(model, column_name) %}
    select {{ column_name }} from {{ model }}
    where {{ column_name }} in ('NaN', 'Infinity', '-Infinity')
{% endtest %}
