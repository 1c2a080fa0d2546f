from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.ml.conftest import FEATURES, planted_frame
from traider.ml.families.xgb import XGBoostFamily
from traider.ml.spec import ModelSpec
from traider.ml.training import train_spec

DATA = {"venue": "binance", "symbol": "BTC/USDT", "timeframe": "5m"}


def _spec(name: str = "xgb_test", **overrides: Any) -> ModelSpec:
    values: dict[str, Any] = {"name": name, "family": "xgboost", "data": DATA, "features": FEATURES,
                              "label": {"kind": "fwd_sign", "horizon": 4},
                              "walk_forward": {"train_bars": 1500, "test_bars": 1000, "purge_bars": 2},
                              "hyperparameters": {"n_estimators": 60}}  # fmt: skip
    return ModelSpec(**{**values, **overrides})


def test_walk_forward_training_purges_labels_that_reach_into_the_test_window(btc_training_frame: pd.DataFrame) -> None:
    outcome = train_spec(_spec(search_space={"max_depth": [2, 3]}), btc_training_frame)
    assert len(outcome.folds) >= 3
    usable = btc_training_frame[btc_training_frame[FEATURES].notna().all(axis=1)]  # fold positions index these rows
    ends = usable["label_end_4"]
    for result in outcome.folds:
        test_start = usable.index[result.fold.test_index[0]]
        assert ends.iloc[result.fold.train_index].max() < test_start
        assert result.parameters["max_depth"] in (2, 3)
    assert outcome.trials == 2
    assert outcome.oos_equity.index[0] == usable.index[outcome.folds[0].fold.test_index[0]]
    assert outcome.snapshot["rows"] == len(btc_training_frame)
    assert outcome.lookahead_clean


def test_a_real_edge_is_found_out_of_sample_with_costs_in() -> None:
    frame = planted_frame()
    spec = _spec("planted", features=["planted", "distraction"], label={"kind": "fwd_sign", "horizon": 1},
                 walk_forward={"train_bars": 800, "test_bars": 500}, trading={"slippage_bps": 1.0})  # fmt: skip
    outcome = train_spec(spec, frame)
    assert outcome.oos_performance.sharpe_ratio > 3.0
    assert outcome.oos_performance.fees_paid > 0
    assert outcome.dsr_probability > 0.95


def test_shuffled_labels_find_no_edge() -> None:
    frame = planted_frame()
    rng = np.random.default_rng(0)
    shuffled = frame.assign(fwd_sign_1=rng.permutation(frame["fwd_sign_1"].to_numpy()))
    spec = _spec("noise", features=["planted", "distraction"], label={"kind": "fwd_sign", "horizon": 1},
                 walk_forward={"train_bars": 800, "test_bars": 500})  # fmt: skip
    outcome = train_spec(spec, shuffled)
    assert outcome.oos_performance.sharpe_ratio < spec.gate.min_sharpe or outcome.dsr_probability < 0.95


class _PeekingFamily(XGBoostFamily):
    """Scores row t with row t + 1's features: a look-ahead bug on purpose."""

    def score(self, features: np.ndarray) -> np.ndarray:
        scores = super().score(features)
        return np.concatenate((scores[1:], [0.0]))


def test_a_model_that_peeks_ahead_fails_the_lookahead_check(
    btc_training_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from traider.ml import families

    monkeypatch.setitem(families.FAMILIES, "xgboost", _PeekingFamily)  # type: ignore[index]
    from traider.ml import training

    monkeypatch.setitem(training.FAMILIES, "xgboost", _PeekingFamily)  # type: ignore[index]
    outcome = train_spec(_spec(), btc_training_frame)
    assert not outcome.lookahead_clean


def test_too_little_data_is_a_clear_error(btc_training_frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="fewer than one walk-forward fold needs"):
        train_spec(_spec(), btc_training_frame.iloc[:1000])
