"""The MLflow form of a trained model: a pyfunc that scores feature rows, loadable as `models:/<name>@production`.

The fitted family is saved into an artifact directory with `family.json` (family, task, seed,
hyperparameters, feature columns, trading threshold); `predict` takes a DataFrame holding the feature
columns (consecutive bars, oldest first) and returns one score per row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from traider.ml.families import FAMILIES
from traider.ml.families.base import ModelFamily

DESCRIPTION_FILE = "family.json"


def save_model(model: ModelFamily, features: list[str], directory: Path, **extra: Any) -> Path:
    """Write `model` and its description into `directory`; return it."""
    model.save(directory / "weights")
    description = {"family": model.name, "task": model.task, "seed": model.seed, "features": features,
                   "hyperparameters": model.hyperparameters, **extra}  # fmt: skip
    (directory / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2, sort_keys=True, default=str))
    return directory


def load_model(directory: Path) -> tuple[ModelFamily, dict[str, Any]]:
    """Read a model written by `save_model`; return it and its description."""
    description = json.loads((directory / DESCRIPTION_FILE).read_text())
    family = FAMILIES[description["family"]].load(
        directory / "weights", description["hyperparameters"], task=description["task"], seed=description["seed"]
    )
    return family, description


class ScoringModel(PythonModel):
    """pyfunc adapter: feature rows in, scores out."""

    def load_context(self, context: Any) -> None:
        """Load the family from the `model` artifact directory."""
        self.model, self.description = load_model(Path(context.artifacts["model"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        """Return one score per row of `model_input` (a DataFrame with the feature columns)."""
        features = self.description["features"]
        return self.model.score(np.asarray(model_input[features], dtype=np.float64))
