"""An ensemble: the weighted average of its members' scores (members are other families, fitted on the
same rows). Members must share the task so that their scores are on one scale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from traider.ml.families.base import Matrix, ModelFamily, Task, Vector


class EnsembleFamily(ModelFamily):
    """`hyperparameters["members"]`: a list of {family, hyperparameters, columns, weight}.

    `columns` are positions into the ensemble's feature matrix, so each member sees its own features.
    """

    name: ClassVar[str] = "ensemble"

    def __init__(self, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> None:
        super().__init__(hyperparameters, task=task, seed=seed)
        from traider.ml.families import FAMILIES

        self.members: list[tuple[ModelFamily, list[int], float]] = []
        for number, member in enumerate(self.hyperparameters.get("members", [])):
            family = FAMILIES[member["family"]](member.get("hyperparameters", {}), task=task, seed=seed + number)
            self.members.append((family, list(member["columns"]), float(member.get("weight", 1.0))))
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        total = sum(weight for _, _, weight in self.members)
        if total <= 0:
            raise ValueError("ensemble weights must add up to more than 0")

    def fit(self, features: Matrix, labels: Vector, validation: tuple[Matrix, Vector] | None = None) -> None:
        """Fit every member on its columns."""
        for family, columns, _ in self.members:
            checks = None if validation is None else (validation[0][:, columns], validation[1])
            family.fit(features[:, columns], labels, checks)

    def score(self, features: Matrix) -> Vector:
        """Return the weighted mean of the members' scores."""
        total = sum(weight for _, _, weight in self.members)
        scores = [weight * family.score(features[:, columns]) for family, columns, weight in self.members]
        return np.asarray(np.sum(scores, axis=0) / total, dtype=np.float64)

    def save(self, directory: Path) -> None:
        """Write each member into `member_<n>/`."""
        directory.mkdir(parents=True, exist_ok=True)
        for number, (family, _, _) in enumerate(self.members):
            family.save(directory / f"member_{number}")
        (directory / "ensemble.json").write_text(json.dumps(self.hyperparameters, default=str))

    @classmethod
    def load(cls, directory: Path, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> EnsembleFamily:
        """Read each member back."""
        ensemble = cls(hyperparameters, task=task, seed=seed)
        loaded = []
        for number, (family, columns, weight) in enumerate(ensemble.members):
            member = type(family).load(directory / f"member_{number}", family.hyperparameters, task=task,
                                       seed=family.seed)  # fmt: skip
            loaded.append((member, columns, weight))
        ensemble.members = loaded
        return ensemble
