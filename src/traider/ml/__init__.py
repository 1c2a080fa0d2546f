"""Model training: specs in `models/*.yaml`, model families behind one contract, purged walk-forward CV with
a fee-aware backtest per fold, and logging and registration in MLflow.
"""
