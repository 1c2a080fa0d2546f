"""The model-family contract: one class per family, so a new family is one new class.

A family is fitted on a matrix of feature rows (consecutive bars, oldest first) and a label vector, and
scores rows: a score is the model's expected direction in [-1, 1] for classifiers (2p − 1 of an up move)
or its predicted forward log return for regressors. Scoring is causal: row t's score uses rows up to t
only (a sequence model looks back, never forward), so callers may pass history before the rows they want.
`save` and `load` round-trip a fitted model through a directory (logged to MLflow as artifacts).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]
Task = Literal["classification", "regression"]


class ModelFamily(ABC):
    """A trainable model: fit, score, save and load."""

    name: ClassVar[str]
    tasks: ClassVar[tuple[Task, ...]] = ("classification", "regression")

    def __init__(self, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> None:
        if task not in self.tasks:
            raise ValueError(f"family {self.name} cannot do {task}; it does {', '.join(self.tasks)}")
        self.hyperparameters = dict(hyperparameters)
        self.task: Task = task
        self.seed = seed

    @abstractmethod
    def fit(self, features: Matrix, labels: Vector, validation: tuple[Matrix, Vector] | None = None) -> None:
        """Fit on rows of `features` and their `labels` (classification labels are 0/1); early-stop on `validation`."""

    @abstractmethod
    def score(self, features: Matrix) -> Vector:
        """Return one causal score per row: expected direction in [-1, 1] or a predicted return."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the fitted model into `directory`."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> ModelFamily:
        """Read a model written by `save`."""
