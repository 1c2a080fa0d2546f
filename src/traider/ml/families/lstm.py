"""An LSTM sequence model in PyTorch: CPU, deterministic seeds, early stopping on a validation tail.

Each row is scored from the window of the last `sequence_length` rows ending at it (the first rows of a
block, which lack a full window, are left-padded with their first row). Features are standardised with
the training rows' mean and deviation, stored with the weights.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from traider.ml.families.base import Matrix, ModelFamily, Task, Vector

DEFAULTS: dict[str, Any] = {"sequence_length": 16, "hidden_size": 16, "epochs": 30, "learning_rate": 0.005,
                            "batch_size": 64, "patience": 4}  # fmt: skip


class LstmFamily(ModelFamily):
    """One LSTM layer and a linear head; BCE loss for classification, MSE for regression."""

    name: ClassVar[str] = "lstm"

    def __init__(self, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> None:
        super().__init__({**DEFAULTS, **hyperparameters}, task=task, seed=seed)
        self._network: Any = None
        self._mean: Vector | None = None
        self._scale: Vector | None = None
        self._label_scale = 1.0

    def _build(self, inputs: int) -> Any:
        import torch

        torch.manual_seed(self.seed)
        hidden = int(self.hyperparameters["hidden_size"])

        class Network(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = torch.nn.LSTM(inputs, hidden, batch_first=True)
                self.head = torch.nn.Linear(hidden, 1)

            def forward(self, window: Any) -> Any:
                output, _ = self.lstm(window)
                return self.head(output[:, -1, :]).squeeze(-1)

        return Network()

    def _windows(self, features: Matrix) -> Any:
        import torch

        assert self._mean is not None and self._scale is not None
        length = int(self.hyperparameters["sequence_length"])
        scaled = (features - self._mean) / self._scale
        padded = np.concatenate([np.repeat(scaled[:1], length - 1, axis=0), scaled]) if len(scaled) else scaled
        view = np.lib.stride_tricks.sliding_window_view(padded, (length, scaled.shape[1]))[:, 0]
        return torch.from_numpy(np.ascontiguousarray(view, dtype=np.float32))

    def fit(self, features: Matrix, labels: Vector, validation: tuple[Matrix, Vector] | None = None) -> None:
        """Train with Adam for up to `epochs`, keeping the weights of the best validation loss."""
        import torch

        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
        self._mean = features.mean(axis=0)
        self._scale = np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
        if self.task == "regression":
            self._label_scale = float(np.std(labels)) or 1.0
        network = self._build(features.shape[1])
        loss_function = torch.nn.BCEWithLogitsLoss() if self.task == "classification" else torch.nn.MSELoss()
        optimiser = torch.optim.Adam(network.parameters(), lr=float(self.hyperparameters["learning_rate"]))
        inputs = self._windows(features)
        targets = torch.from_numpy(np.asarray(labels, dtype=np.float32) / np.float32(self._label_scale))
        checks = None
        if validation is not None and len(validation[1]):
            history = np.concatenate([features, validation[0]])
            expected = np.asarray(validation[1], dtype=np.float32) / np.float32(self._label_scale)
            checks = (self._windows(history)[len(features) :], torch.from_numpy(expected))
        generator = torch.Generator().manual_seed(self.seed)
        batch = int(self.hyperparameters["batch_size"])
        best, best_state, waited = float("inf"), None, 0
        for _ in range(int(self.hyperparameters["epochs"])):
            network.train()
            order = torch.randperm(len(inputs), generator=generator)
            for start in range(0, len(inputs), batch):
                rows = order[start : start + batch]
                optimiser.zero_grad()
                loss = loss_function(network(inputs[rows]), targets[rows])
                loss.backward()
                optimiser.step()
            if checks is None:
                continue
            network.eval()
            with torch.no_grad():
                current = float(loss_function(network(checks[0]), checks[1]))
            if current < best - 1e-6:
                best, waited = current, 0
                best_state = {key: value.clone() for key, value in network.state_dict().items()}
            else:
                waited += 1
                if waited >= int(self.hyperparameters["patience"]):
                    break
        if best_state is not None:
            network.load_state_dict(best_state)
        network.eval()
        self._network = network

    def score(self, features: Matrix) -> Vector:
        """Return 2σ(logit) − 1 (classifier) or the predicted return (regressor) per row."""
        import torch

        if self._network is None:
            raise RuntimeError("the model is not fitted")
        with torch.no_grad():
            output = self._network(self._windows(features)).numpy().astype(np.float64)
        if self.task == "classification":
            return np.asarray(2.0 / (1.0 + np.exp(-output)) - 1.0, dtype=np.float64)
        return np.asarray(output * self._label_scale, dtype=np.float64)

    def save(self, directory: Path) -> None:
        """Write `weights.pt` (state dict) and `scaling.json`."""
        import torch

        directory.mkdir(parents=True, exist_ok=True)
        torch.save(self._network.state_dict(), directory / "weights.pt")
        assert self._mean is not None and self._scale is not None
        scaling = {"mean": self._mean.tolist(), "scale": self._scale.tolist(), "label_scale": self._label_scale}
        (directory / "scaling.json").write_text(json.dumps(scaling))

    @classmethod
    def load(cls, directory: Path, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> LstmFamily:
        """Read `weights.pt` and `scaling.json`."""
        import torch

        family = cls(hyperparameters, task=task, seed=seed)
        scaling = json.loads((directory / "scaling.json").read_text())
        family._mean = np.asarray(scaling["mean"], dtype=np.float64)
        family._scale = np.asarray(scaling["scale"], dtype=np.float64)
        family._label_scale = float(scaling["label_scale"])
        family._network = family._build(len(family._mean))
        family._network.load_state_dict(torch.load(directory / "weights.pt", weights_only=True))
        family._network.eval()
        return family
