{#- Fails on every row where any of `columns` is NULL (one query for all of them). -#}
{% test not_null_columns(model, columns) %}
    select * from {{ model }}
    where {% for column in columns %}{{ column }} is null{{ " or " if not loop.last }}{% endfor %}
{% endtest %}
