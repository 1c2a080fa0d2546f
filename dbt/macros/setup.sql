{#- on-run-start: the three schemas exist, and the application role (DBT_TRAIDER_APP_ROLE) may look into `features`. -#}
{% macro create_feature_schemas() %}
    create schema if not exists staging;
    create schema if not exists intermediate;
    create schema if not exists features;
    grant usage on schema features to {{ adapter.quote(env_var('DBT_TRAIDER_APP_ROLE', 'traider_app')) }};
{% endmacro %}


{#-
    on-run-start: intermediate.ema(x, alpha), the exponential moving average as an aggregate, used as a
    window function over `rows between unbounded preceding and current row`:

        y_first = x_first;   y_t = (1 - alpha) * y_{t-1} + alpha * x_t   (y_t = y_{t-1} when x_t = y_{t-1})

    The state function is strict and the aggregate has no initial state, so PostgreSQL seeds the state
    with the first non-NULL x and skips NULL inputs. traider.features.online.Ema runs the same
    floating-point operations (bit for bit); pandas' `ewm(alpha=alpha, adjust=False, ignore_na=True)`
    agrees up to rounding. Span n: alpha = 2 / (n + 1); Wilder's smoothing over n: alpha = 1 / n.
    Incremental models seed it with a stored state by feeding that state as the first non-NULL input.
-#}
{% macro create_ema_aggregate() %}
    create or replace function intermediate.ema_step(
        state double precision, x double precision, alpha double precision
    ) returns double precision
    language sql immutable strict parallel safe
    as $$ select case when x = state then state else (1 - alpha) * state + alpha * x end $$;

    create or replace aggregate intermediate.ema(double precision, double precision) (
        sfunc = intermediate.ema_step,
        stype = double precision,
        parallel = safe
    );
{% endmacro %}


{#-
    In int_bar_indicators: the EMA of `value` over the fresh bars of a series, seeded with the anchor's
    stored `state` on an incremental build (the anchor is the last stored bar before the recompute start;
    intermediate.ema skips the NULLs given for the other stored bars). Needs the window `running`.
-#}
{% macro seeded_ema(value, state, alpha) -%}
    intermediate.ema(
        case when not is_context then {{ value }} when is_anchor then stored_{{ state }} end,
        {{ alpha }}
    ) over running
{%- endmacro %}
