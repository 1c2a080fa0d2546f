{#- Fails on every row where `expression` is false (NULL counts as true: state NULLs with not_null). -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not coalesce(({{ expression }}), true)
{% endtest %}
