"""How the gate learns the champion's out-of-sample Sharpe on the candidate's window.

`ChampionEvaluator` is the protocol; the caller injects one. `RunMetricEvaluator` is the simple real
implementation: it reads the champion run's own `oos_sharpe` when its recorded window equals the
candidate's, and raises `ChampionNotComparableError` otherwise (the gate then makes the candidate a
challenger, never a champion). `champion_evaluator` picks the evaluator the gate DAG uses: the training
side's `traider.ml.evaluation.champion_evaluator(tracking_uri)` when that module exists, else
`RunMetricEvaluator`.
"""

from __future__ import annotations

import importlib
import math
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from traider.registry.errors import ChampionNotComparableError, RegistryError
from traider.registry.gate import evidence_from_run

if TYPE_CHECKING:
    from mlflow import MlflowClient

TRAINING_EVALUATION_MODULE = "traider.ml.evaluation"


@runtime_checkable
class ChampionEvaluator(Protocol):
    """Evaluate a registered model out of sample on a window."""

    def evaluate(self, model_uri: str, start: datetime, end: datetime) -> float:
        """Return the model's out-of-sample (annualised) Sharpe ratio on [start, end].

        `model_uri` is `models:/<name>/<version>`. Raise an exception when the model cannot be
        evaluated on that window; the gate records its message and does not promote.
        """
        ...


class RunMetricEvaluator:
    """The champion's Sharpe as its training run recorded it, valid only on the very same window."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def evaluate(self, model_uri: str, start: datetime, end: datetime) -> float:
        """Return the champion run's `oos_sharpe` if its `oos_start`/`oos_end` equal [start, end]."""
        name, version = parse_model_uri(model_uri)
        run_id = self.client.get_model_version(name, version).run_id
        if not run_id:
            raise ChampionNotComparableError(f"{model_uri} has no MLflow run to read its Sharpe from")
        data = self.client.get_run(run_id).data
        evidence, _ = evidence_from_run(data.metrics, {**data.params, **data.tags})
        if evidence.window != (start, end):
            recorded = "none" if evidence.window is None else "..".join(t.isoformat() for t in evidence.window)
            raise ChampionNotComparableError(
                f"its recorded out-of-sample window ({recorded}) is not the candidate's; "
                "no evaluator for other windows is installed"
            )
        if evidence.oos_sharpe is None or not math.isfinite(evidence.oos_sharpe):
            raise ChampionNotComparableError(f"{model_uri} recorded no finite oos_sharpe")
        return evidence.oos_sharpe


def parse_model_uri(model_uri: str) -> tuple[str, str]:
    """Split `models:/<name>/<version>` into name and version."""
    prefix = "models:/"
    name, _, version = model_uri.removeprefix(prefix).rpartition("/")
    if not model_uri.startswith(prefix) or not name or not version.isdigit():
        raise RegistryError(f"{model_uri!r} is not a models:/<name>/<version> URI")
    return name, version


def champion_evaluator(client: MlflowClient, tracking_uri: str) -> ChampionEvaluator:
    """Return `traider.ml.evaluation.champion_evaluator(tracking_uri)` if that module exists, else the run metric."""
    try:
        module = importlib.import_module(TRAINING_EVALUATION_MODULE)
    except ModuleNotFoundError as error:
        if error.name != TRAINING_EVALUATION_MODULE:
            raise
        return RunMetricEvaluator(client)
    factory = getattr(module, "champion_evaluator", None)
    if not callable(factory):
        raise RegistryError(
            f"{TRAINING_EVALUATION_MODULE} exists but defines no champion_evaluator(tracking_uri) -> ChampionEvaluator"
        )
    evaluator = factory(tracking_uri)
    if not isinstance(evaluator, ChampionEvaluator):
        raise RegistryError(f"{TRAINING_EVALUATION_MODULE}.champion_evaluator returned no ChampionEvaluator")
    return evaluator
