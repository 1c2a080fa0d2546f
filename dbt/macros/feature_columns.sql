{#- The columns of features.features after its key (venue, symbol, timeframe, ts), in order; training_set copies them. -#}
{% macro feature_columns() %}
    {{ return([
        'available_at', 'bar_index', 'open', 'high', 'low', 'close', 'volume',
        'log_return', 'realised_vol_24', 'rsi_14', 'macd_line', 'macd_signal', 'macd_hist',
        'bollinger_pctb_20', 'atr_14', 'ema_ratio_12', 'ema_ratio_26', 'ema_ratio_50',
        'funding_rate', 'funding_rate_zscore_30', 'funding_drift_3', 'funding_settled_at', 'basis',
        'trade_count', 'buy_volume', 'sell_volume', 'order_flow_imbalance',
        'spread_bps', 'depth_imbalance_5', 'microprice', 'book_snapshot_ts',
    ]) }}
{% endmacro %}
