"""Training → MLflow (real server) → gate → the worker's model provider, end to end without the feature mart."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from tests.ml.conftest import planted_frame
from tests.mlflow_server import MlflowTestServer
from traider.ml.serving import MlflowModelProvider
from traider.ml.spec import ModelSpec
from traider.ml.tracking import log_and_register
from traider.ml.training import train_spec
from traider.registry.aliases import apply_gate


class _NoChampion:
    """Never called while no version holds `production`; fails loudly if it is."""

    def evaluate(self, model_uri: str, start: datetime, end: datetime) -> float:
        raise AssertionError(f"no champion should be evaluated yet, asked for {model_uri}")


def _spec(name: str, **overrides: Any) -> ModelSpec:
    values: dict[str, Any] = {
        "name": name,
        "family": "xgboost",
        "data": {"venue": "sim", "symbol": "BTC/USD", "timeframe": "1h"},
        "features": ["planted", "distraction"],
        "label": {"kind": "fwd_sign", "horizon": 1},
        "hyperparameters": {"n_estimators": 60},
        "walk_forward": {"train_bars": 800, "test_bars": 500},
        "trading": {"slippage_bps": 1.0},
    }
    return ModelSpec(**{**values, **overrides})


def test_a_real_edge_is_logged_registered_promoted_and_served(
    mlflow_server: MlflowTestServer, app_engine: Engine
) -> None:
    frame = planted_frame()
    spec = _spec("planted_edge_tracking")
    outcome = train_spec(spec, frame)
    registered = log_and_register(outcome, tracking_uri=mlflow_server.tracking_uri, dbt_invocation_id="dbt-123")
    client = mlflow_server.client()
    run = client.get_run(registered.run_id)
    assert run.data.metrics["oos_sharpe"] == pytest.approx(outcome.oos_performance.sharpe_ratio)
    assert run.data.tags["lookahead_clean"] == "true"
    assert run.data.tags["dbt_invocation_id"] == "dbt-123"
    assert run.data.tags["data.content_sha256"] == outcome.snapshot["content_sha256"]
    artifacts = {item.path for item in client.list_artifacts(registered.run_id)}
    assert {"features.json", "data_snapshot.json", "spec.json", "report"} <= artifacts
    report = {item.path for item in client.list_artifacts(registered.run_id, "report")}
    assert {"report/planted_edge_tracking.html", "report/planted_edge_tracking.json"} <= report
    fold_sharpes = client.get_metric_history(registered.run_id, "fold_sharpe")
    assert [metric.step for metric in fold_sharpes] == list(range(len(outcome.folds)))

    decision = apply_gate(client, app_engine, spec.name, registered.version, _NoChampion())
    assert decision.decision == "promote", decision.reasons

    provider = MlflowModelProvider(spec.name, tracking_uri=mlflow_server.tracking_uri)
    strategy, version = provider.current()
    assert version == registered.version
    rows = frame.dropna(subset=["planted"]).iloc[-50:]
    served = strategy.model.score(rows[["planted", "distraction"]].to_numpy(np.float64))
    assert np.allclose(served, outcome.model.score(rows[["planted", "distraction"]].to_numpy(np.float64)))
    assert json.loads(json.dumps(outcome.snapshot))["rows"] == len(frame)


def test_a_model_trained_on_shuffled_labels_is_rejected_by_the_gate(
    mlflow_server: MlflowTestServer, app_engine: Engine
) -> None:
    frame = planted_frame()
    rng = np.random.default_rng(11)
    noise = frame.assign(fwd_sign_1=rng.permutation(frame["fwd_sign_1"].to_numpy()))
    spec = _spec("shuffled_labels_tracking")
    registered = log_and_register(train_spec(spec, noise), tracking_uri=mlflow_server.tracking_uri)
    decision = apply_gate(mlflow_server.client(), app_engine, spec.name, registered.version, _NoChampion())
    assert decision.decision == "reject"
    assert decision.reasons


def test_the_provider_follows_the_alias(mlflow_server: MlflowTestServer, app_engine: Engine) -> None:
    from traider.registry.aliases import promote

    frame = planted_frame()
    spec = _spec("alias_follow_tracking")
    first = log_and_register(train_spec(spec, frame), tracking_uri=mlflow_server.tracking_uri)
    second = log_and_register(train_spec(spec, frame.iloc[100:]), tracking_uri=mlflow_server.tracking_uri)
    client = mlflow_server.client()
    promote(client, app_engine, spec.name, first.version, reason="first", actor="test", force=True)
    provider = MlflowModelProvider(spec.name, poll_s=0.0, tracking_uri=mlflow_server.tracking_uri)
    assert provider.current()[1] == first.version
    assert not provider.poll()
    promote(client, app_engine, spec.name, second.version, reason="second", actor="test", force=True)
    assert provider.poll()
    assert provider.current()[1] == second.version
