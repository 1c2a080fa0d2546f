"""Which evaluator the gate uses for the champion, and the run-metric evaluator on a real server."""

from __future__ import annotations

import sys
import types

import pytest

from tests.registry.support import OTHER_WINDOW, WINDOW, Registry
from traider.registry import evaluation
from traider.registry.errors import ChampionNotComparableError, RegistryError
from traider.registry.evaluation import ChampionEvaluator, RunMetricEvaluator, champion_evaluator


def test_run_metric_evaluator_returns_the_champions_sharpe_on_its_own_window(registry: Registry) -> None:
    name = registry.new_model("evaluate")
    version = registry.add_version(name, sharpe=1.73)
    evaluator = RunMetricEvaluator(registry.client)

    assert evaluator.evaluate(f"models:/{name}/{version}", *WINDOW) == 1.73
    with pytest.raises(ChampionNotComparableError, match="is not the candidate's"):
        evaluator.evaluate(f"models:/{name}/{version}", *OTHER_WINDOW)


def test_champion_evaluator_prefers_the_training_sides_module(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("traider_test_training_evaluation")

    class Constant:
        def evaluate(self, model_uri: str, start: object, end: object) -> float:
            return 0.5

    module.champion_evaluator = lambda tracking_uri: Constant()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(evaluation, "TRAINING_EVALUATION_MODULE", module.__name__)

    chosen = champion_evaluator(registry.client, registry.server.tracking_uri)

    assert isinstance(chosen, Constant) and isinstance(chosen, ChampionEvaluator)


def test_champion_evaluator_falls_back_to_the_run_metric_without_the_module(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "TRAINING_EVALUATION_MODULE", "traider_test_no_such_module")
    assert isinstance(champion_evaluator(registry.client, registry.server.tracking_uri), RunMetricEvaluator)


def test_champion_evaluator_module_without_the_factory_is_an_error(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("traider_test_empty_evaluation")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(evaluation, "TRAINING_EVALUATION_MODULE", module.__name__)
    with pytest.raises(RegistryError, match="defines no champion_evaluator"):
        champion_evaluator(registry.client, registry.server.tracking_uri)


def test_the_training_sides_evaluator_satisfies_the_protocol() -> None:
    training = pytest.importorskip("traider.ml.evaluation")
    assert isinstance(training.champion_evaluator("http://127.0.0.1:1"), ChampionEvaluator)
