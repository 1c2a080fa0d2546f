"""Backtesting: engines, costs (fees, slippage, fills), metrics and reports."""
