"""XGBoost classifier (the sign of the forward return) and regressor (its value), deterministic on CPU."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from traider.ml.families.base import Matrix, ModelFamily, Task, Vector

DEFAULTS: dict[str, Any] = {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8,
                            "colsample_bytree": 0.8, "min_child_weight": 5.0}  # fmt: skip
EARLY_STOPPING_ROUNDS = 20


class XGBoostFamily(ModelFamily):
    """Gradient-boosted trees: fitted on 2 threads (the machines have two cores), scored on 1; `hist`, seeded."""

    name: ClassVar[str] = "xgboost"

    def __init__(self, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> None:
        super().__init__({**DEFAULTS, **hyperparameters}, task=task, seed=seed)
        self._model: Any = None

    def _estimator(self, early_stopping: bool) -> Any:
        import xgboost

        kind = xgboost.XGBClassifier if self.task == "classification" else xgboost.XGBRegressor
        options = dict(self.hyperparameters, random_state=self.seed, n_jobs=2, tree_method="hist", verbosity=0)
        if early_stopping:
            options["early_stopping_rounds"] = EARLY_STOPPING_ROUNDS
        return kind(**options)

    def fit(self, features: Matrix, labels: Vector, validation: tuple[Matrix, Vector] | None = None) -> None:
        """Fit the trees; with `validation`, stop when its loss has not improved for 20 rounds."""
        usable = validation is not None and len(validation[1]) > 0 and len(np.unique(validation[1])) > 1
        self._model = self._estimator(early_stopping=usable)
        if usable:
            assert validation is not None
            self._model.fit(features, labels, eval_set=[validation], verbose=False)
        else:
            self._model.fit(features, labels, verbose=False)
        self._model.set_params(n_jobs=1)  # scoring: one row per bar in the worker, where a second thread costs ms

    def score(self, features: Matrix) -> Vector:
        """Return 2p − 1 (classifier) or the predicted return (regressor) per row."""
        if self._model is None:
            raise RuntimeError("the model is not fitted")
        if self.task == "classification":
            return np.asarray(self._model.predict_proba(features)[:, 1] * 2.0 - 1.0, dtype=np.float64)
        return np.asarray(self._model.predict(features), dtype=np.float64)

    def save(self, directory: Path) -> None:
        """Write the booster as `model.ubj` (XGBoost's own binary format)."""
        directory.mkdir(parents=True, exist_ok=True)
        self._model.save_model(directory / "model.ubj")

    @classmethod
    def load(cls, directory: Path, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> XGBoostFamily:
        """Read `model.ubj`."""
        family = cls(hyperparameters, task=task, seed=seed)
        family._model = family._estimator(early_stopping=False)
        family._model.load_model(directory / "model.ubj")
        family._model.set_params(n_jobs=1)
        return family
