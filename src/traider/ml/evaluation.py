"""The champion's score on a candidate's out-of-sample window, for the gate's "beats the champion" rule.

`champion_evaluator(tracking_uri)` returns an evaluator whose `evaluate(model_uri, start, end)` loads the
registered version, reads its spec's rows of `features.training_set` in [start, end], turns its scores into
targets with the spec's threshold and short rule, and backtests them with the spec's costs from flat — the
same backtest the candidate's test windows got — returning the annualised Sharpe ratio. The candidate's own
figure is the Sharpe of its stitched out-of-sample equity over that window, so both are measured alike.

The champion was trained on data before its own registration; on a candidate's later window it is out of
sample too, except where the windows of the two trainings overlap (then the champion is favoured, which
only makes promotion harder).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class BacktestEvaluator:
    """Evaluates a registered model by backtesting its signals on the feature mart."""

    tracking_uri: str | None = None

    def evaluate(self, model_uri: str, start: datetime, end: datetime) -> float:
        """Return the annualised Sharpe ratio of `model_uri`'s signals on [start, end] with full costs."""
        import mlflow
        import mlflow.pyfunc

        from traider.backtest.costs.model import CostModel
        from traider.backtest.metrics import infer_periods_per_year, sharpe_ratios
        from traider.backtest.vectorised import BarCosts, run_vectorised
        from traider.config import get_settings
        from traider.db.engine import application_engine
        from traider.ml.data import load_training_frame
        from traider.ml.spec import ModelSpec
        from traider.ml.strategy import ModelStrategy
        from traider.ml.training import PRICE_COLUMNS

        if self.tracking_uri:
            mlflow.set_tracking_uri(self.tracking_uri)
        loaded = mlflow.pyfunc.load_model(model_uri)
        scoring: Any = loaded.unwrap_python_model()
        run_id = loaded.metadata.run_id
        spec = ModelSpec(**mlflow.artifacts.load_dict(f"runs:/{run_id}/spec.json"))
        frame = load_training_frame(spec, application_engine(get_settings()))
        window = frame[(frame.index >= start) & (frame.index <= end)]
        if len(window) < 3:
            raise ValueError(f"{model_uri} has fewer than 3 bars of features in [{start}, {end}]")
        history = frame[frame.index <= end]
        strategy = ModelStrategy(
            scoring.model,
            scoring.description["features"],
            threshold=spec.trading.threshold,
            allow_short=spec.trading.allow_short,
        )
        targets = strategy.targets(history).loc[window.index]
        costs = BarCosts.from_cost_model(
            CostModel(venue=spec.trading.venue, market_type=spec.trading.market_type),
            slippage_bps=spec.trading.slippage_bps,
        )
        path = run_vectorised(window[list(PRICE_COLUMNS)], targets, costs=costs)
        values = path.equity.to_numpy()
        sharpe = float(sharpe_ratios(values[1:] / values[:-1] - 1.0, infer_periods_per_year(path.equity.index)))
        return sharpe if math.isfinite(sharpe) else 0.0


def champion_evaluator(tracking_uri: str | None = None) -> BacktestEvaluator:
    """Return the evaluator the gate uses for the current champion."""
    return BacktestEvaluator(tracking_uri)
