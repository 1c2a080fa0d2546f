from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from traider.ml.families import FAMILIES
from traider.ml.families.base import ModelFamily


def _data(rows: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Label = whether the previous row's first feature was positive (learnable, needs memory for the LSTM)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 3))
    lagged = np.concatenate(([0.0], features[:-1, 0]))
    return np.column_stack([features, lagged]), (lagged > 0).astype(np.float64)


@pytest.mark.parametrize("name", ["xgboost", "lstm"])
def test_a_family_learns_a_learnable_rule_out_of_sample(name: str) -> None:
    features, labels = _data()
    model = FAMILIES[name]({"epochs": 40} if name == "lstm" else {}, task="classification", seed=1)
    model.fit(features[:400], labels[:400], (features[400:500], labels[400:500]))
    scores = model.score(features)[500:]
    assert np.all(np.abs(scores) <= 1.0)
    assert np.mean((scores > 0) == (labels[500:] > 0)) > 0.8


@pytest.mark.parametrize("name", ["xgboost", "lstm"])
def test_fitting_twice_with_one_seed_gives_identical_scores(name: str) -> None:
    features, labels = _data(300)
    first, second = (FAMILIES[name]({"epochs": 3}, task="classification", seed=3) for _ in range(2))
    first.fit(features, labels)
    second.fit(features, labels)
    assert np.array_equal(first.score(features), second.score(features))


@pytest.mark.parametrize(
    ("name", "task"), [("xgboost", "regression"), ("lstm", "regression"), ("xgboost", "classification")]
)
def test_save_and_load_give_the_same_scores(tmp_path: Path, name: str, task: str) -> None:
    features, labels = _data(300)
    model: ModelFamily = FAMILIES[name]({"epochs": 2}, task=task, seed=5)  # type: ignore[arg-type]
    model.fit(features, labels - 0.5 if task == "regression" else labels)
    model.save(tmp_path / "m")
    loaded = FAMILIES[name].load(tmp_path / "m", model.hyperparameters, task=task, seed=5)  # type: ignore[arg-type]
    assert np.allclose(loaded.score(features), model.score(features), rtol=0, atol=1e-6)


def test_lstm_scores_are_causal() -> None:
    features, labels = _data(200)
    model = FAMILIES["lstm"]({"epochs": 2}, task="classification", seed=2)
    model.fit(features, labels)
    assert np.allclose(model.score(features[:120]), model.score(features)[:120], atol=1e-6)


def test_ensemble_is_the_weighted_mean_of_its_members() -> None:
    features, labels = _data(300)
    members = [{"family": "xgboost", "hyperparameters": {"n_estimators": 20}, "columns": [0, 3], "weight": 3.0},
               {"family": "xgboost", "hyperparameters": {"n_estimators": 10}, "columns": [1, 2], "weight": 1.0}]  # fmt: skip
    ensemble = FAMILIES["ensemble"]({"members": members}, task="classification", seed=0)
    ensemble.fit(features, labels)
    parts = [family.score(features[:, columns]) for family, columns, _ in ensemble.members]  # type: ignore[attr-defined]
    assert np.allclose(ensemble.score(features), (3.0 * parts[0] + parts[1]) / 4.0)
    assert not np.allclose(parts[0], parts[1])


def test_a_family_refuses_a_task_it_cannot_do() -> None:
    class OnlyRegression(FAMILIES["xgboost"]):  # type: ignore[misc, valid-type]
        tasks = ("regression",)

    with pytest.raises(ValueError, match="cannot do classification"):
        OnlyRegression({}, task="classification")
