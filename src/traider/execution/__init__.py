"""Execution pieces shared by the event-driven backtest and the live worker: sizing, orders, ledger, brokers, clocks."""
