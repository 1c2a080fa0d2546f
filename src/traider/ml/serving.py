"""Serving a registered model to the worker: the version under an MLflow alias, re-checked every N seconds.

`MlflowModelProvider.current()` gives a `ModelStrategy` around the pyfunc's fitted family (with the spec's
threshold and short rule, stored with the model); `poll()` looks the alias up again at most every
`poll_s` seconds and loads the new version when it moved, so the worker swaps between two bars.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from traider.ml.strategy import ModelStrategy


@dataclass
class MlflowModelProvider:
    """The strategy of `models:/<name>@<alias>`, following the alias."""

    name: str
    alias: str = "production"
    poll_s: float = 30.0
    tracking_uri: str | None = None
    _version: str | None = None
    _strategy: ModelStrategy | None = None
    _checked: float = field(default=float("-inf"))

    def current(self) -> tuple[ModelStrategy, str | None]:
        """Return the strategy of the version under the alias (loading it on first use)."""
        if self._strategy is None:
            self._load(self._alias_version())
        assert self._strategy is not None
        return self._strategy, self._version

    def poll(self) -> bool:
        """Return True when the alias moved since the last load (checked at most every `poll_s` seconds)."""
        now = time.monotonic()
        if now - self._checked < self.poll_s:
            return False
        self._checked = now
        version = self._alias_version()
        if version == self._version:
            return False
        self._load(version)
        return True

    def _client(self) -> Any:
        from mlflow import MlflowClient

        from traider.config import get_settings

        if self.tracking_uri is None:
            self.tracking_uri = get_settings().mlflow_uri
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _alias_version(self) -> str:
        from mlflow.exceptions import MlflowException

        from traider.errors import ConfigurationError

        try:
            return str(self._client().get_model_version_by_alias(self.name, self.alias).version)
        except MlflowException as error:
            raise ConfigurationError(
                f"model {self.name!r} has no version under the alias {self.alias!r} ({error.error_code}): "
                "train it and let the gate promote one, or promote one with `traider model promote`"
            ) from None

    def _load(self, version: str) -> None:
        self._strategy = load_model_strategy(self.name, version, self.tracking_uri)
        self._version = version


def load_model_strategy(name: str, version: str, tracking_uri: str | None = None) -> ModelStrategy:
    """Return the `ModelStrategy` of `models:/<name>/<version>`: the fitted family, features, threshold, shorts."""
    import mlflow
    import mlflow.pyfunc

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    scoring = loaded.unwrap_python_model()
    description = scoring.description
    return ModelStrategy(
        scoring.model,
        description["features"],
        threshold=float(description.get("threshold", 0.0)),
        allow_short=bool(description.get("allow_short", True)),
    )
