{#- Fails on training rows whose labels break their definition, for every horizon in var horizons. -#}
{% test labels_consistent(model) %}
    select * from {{ model }}
    where false
    {%- for horizon in var('horizons') %}
        or (fwd_return_{{ horizon }} is null) <> (fwd_sign_{{ horizon }} is null)
        or fwd_sign_{{ horizon }} <> sign(fwd_return_{{ horizon }})
        or fwd_return_{{ horizon }} in ('NaN', 'Infinity', '-Infinity')
        or label_end_{{ horizon }} <> ts + {{ horizon }} * (available_at - ts)
    {%- endfor %}
{% endtest %}
