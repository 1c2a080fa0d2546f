"""A model trained on noise (shuffled labels) never passes the gate.

The evaluation is real and self-contained: features are the last few 5-minute log returns of the shared
BTC bars, the label is the sign of the next bar's return, and in every walk-forward fold the labels of the
training window are shuffled before a linear model is fitted by least squares. Its signals trade the next
test window in the vectorised engine with binance's fees and slippage; the stitched out-of-sample equity
gives the Sharpe ratio, max drawdown and deflated-Sharpe probability the gate reads. The model itself is
logged to MLflow as a pyfunc and registered, then gated. The same evaluation without fees shows it is not
only the costs: a lucky noise model can clear the Sharpe threshold, and the deflated Sharpe still stops it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc.model import PythonModel

from tests.registry.support import Registry
from traider.backtest.costs.model import CostModel
from traider.backtest.deflated_sharpe import deflated_sharpe_ratio
from traider.backtest.metrics import performance_report
from traider.backtest.vectorised import BarCosts, run_vectorised
from traider.backtest.walkforward import WalkForwardSpec, stitch_out_of_sample, walk_forward_splits
from traider.registry.aliases import apply_gate
from traider.registry.evaluation import RunMetricEvaluator
from traider.registry.gate import Decision, Thresholds, decide, evidence_from_run

LAGS = 6
SPEC = WalkForwardSpec(train_length=1500, test_length=700, purge=1)


class LinearSignal(PythonModel):
    """Score = [1, lagged returns] · weights; the position is the score's sign."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        values = model_input.to_numpy(dtype="float64")
        scores: np.ndarray = np.column_stack([np.ones(len(values)), values]) @ np.asarray(self.weights)
        return scores


@dataclass(frozen=True)
class NoiseEvaluation:
    """Out-of-sample results of the shuffled-label model, and the weights of its last fold."""

    sharpe: float
    max_drawdown: float
    dsr_probability: float
    start: datetime
    end: datetime
    fees_paid: float
    weights: list[float]
    features: pd.DataFrame


def _bars(shared_data: Path) -> pd.DataFrame:
    path = shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather"
    return pd.read_feather(path).set_index("date")


def _features(bars: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    returns = np.log(bars["close"]).diff()
    features = pd.DataFrame({f"ret_{lag}": returns.shift(lag - 1) for lag in range(1, LAGS + 1)}).fillna(0.0)
    label = np.sign(returns.shift(-1)).fillna(0.0)  # the next bar's direction: known only after it closes
    return features, label


def venue_costs() -> BarCosts:
    """Return binance spot's taker fee and 2 bps of slippage."""
    return BarCosts.from_cost_model(CostModel(venue="binance", market_type="spot"), slippage_bps=2.0)


def evaluate_noise_model(bars: pd.DataFrame, seed: int, costs: BarCosts) -> NoiseEvaluation:
    """Walk forward: fit on shuffled training labels, trade the test window, stitch out of sample."""
    rng = np.random.default_rng(seed)
    features, label = _features(bars)
    equities: list[pd.Series] = []
    fees = 0.0
    weights = np.zeros(LAGS + 1)
    for fold in walk_forward_splits(pd.DatetimeIndex(bars.index), SPEC):
        train = features.iloc[fold.train_index].to_numpy()
        shuffled = rng.permutation(label.iloc[fold.train_index].to_numpy())
        design = np.column_stack([np.ones(len(train)), train])
        weights = np.linalg.lstsq(design, shuffled, rcond=None)[0]
        test = features.iloc[fold.test_index]
        scores = LinearSignal(weights.tolist()).predict(None, test)
        targets = pd.Series(np.sign(scores), index=test.index)
        path = run_vectorised(bars.iloc[fold.test_index], targets, costs=costs)
        equities.append(path.equity)
        fees += path.fees_paid
    equity = stitch_out_of_sample(equities, "equity", 10_000.0)
    report = performance_report(equity, fees_paid=fees)
    returns = equity.pct_change().dropna().to_numpy()
    return NoiseEvaluation(
        sharpe=report.sharpe_ratio,
        max_drawdown=report.max_drawdown,
        dsr_probability=deflated_sharpe_ratio(returns, trials=1, trials_sharpe_variance=0.0),
        start=equity.index[0].to_pydatetime(),
        end=equity.index[-1].to_pydatetime(),
        fees_paid=fees,
        weights=weights.tolist(),
        features=features.iloc[-5:],
    )


def _run_record(evaluation: NoiseEvaluation) -> tuple[dict[str, float], dict[str, str]]:
    metrics = {
        "oos_sharpe": evaluation.sharpe,
        "oos_max_drawdown": evaluation.max_drawdown,
        "dsr_probability": evaluation.dsr_probability,
    }
    tags = {
        "lookahead_clean": "true",
        "oos_start": evaluation.start.isoformat(),
        "oos_end": evaluation.end.isoformat(),
        "spec": "noise",
    }
    return metrics, tags


@pytest.mark.parametrize("seed", range(4))
def test_shuffled_label_models_fail_the_gate(shared_data: Path, seed: int) -> None:
    evaluation = evaluate_noise_model(_bars(shared_data), seed, venue_costs())
    assert evaluation.fees_paid > 0, "the noise model must actually trade"
    assert all(math.isfinite(value) for value in (evaluation.sharpe, evaluation.max_drawdown))
    evidence, problems = evidence_from_run(*_run_record(evaluation))
    assert problems == ()

    verdict = decide(evidence, Thresholds(), None)

    assert verdict.decision is Decision.REJECT, verdict.reasons


@pytest.mark.parametrize("seed", range(8))
def test_shuffled_label_models_fail_the_gate_even_without_costs(shared_data: Path, seed: int) -> None:
    """Without fees a lucky noise model can clear the Sharpe threshold; the deflated Sharpe still stops it."""
    evaluation = evaluate_noise_model(_bars(shared_data), seed, BarCosts(fee_rate=0.0))
    evidence, _ = evidence_from_run(*_run_record(evaluation))

    verdict = decide(evidence, Thresholds(), None)

    assert verdict.decision is Decision.REJECT, verdict.reasons
    assert any(line.startswith("dsr_probability") and " < " in line for line in verdict.reasons), verdict.reasons


def test_registered_noise_model_is_rejected_by_the_gate(registry: Registry, shared_data: Path) -> None:
    evaluation = evaluate_noise_model(_bars(shared_data), 11, venue_costs())
    metrics, tags = _run_record(evaluation)
    name = f"noise_{registry.new_model('tmp').split('_')[1]}"
    mlflow.set_tracking_uri(registry.server.tracking_uri)
    mlflow.set_experiment("traider-registry-noise")
    with mlflow.start_run():
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=LinearSignal(evaluation.weights),
            registered_model_name=name,
            pip_requirements=["numpy", "pandas"],
        )
    version = str(info.registered_model_version)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    expected = LinearSignal(evaluation.weights).predict(None, evaluation.features)
    assert np.allclose(loaded.predict(evaluation.features), expected)  # the registered model is the real one

    stored = apply_gate(registry.client, registry.engine, name, version, RunMetricEvaluator(registry.client))

    assert stored.decision is Decision.REJECT
    assert registry.aliases(name) == {}
    assert registry.tags(name, version)["gate.decision"] == "reject"
    failing = [line for line in stored.reasons if " < " in line or " > " in line]
    assert failing, stored.reasons
