"""
### Model gate

Runs whenever the train DAG updates the `models_trained` asset (or by hand, with `models` naming the
registered models to look at; empty means all). It lists the model versions the gate has not judged yet
(no `gate.decision` tag) and gates each one in its own mapped task: out-of-sample Sharpe, max drawdown,
deflated-Sharpe probability and look-ahead check against the spec's thresholds, then the current champion
on the same out-of-sample window. The version takes the alias `production` (promote), `challenger`, or
nothing (reject); the reasons go to the version's tags, `ops.model_decisions` and the audit log.

The champion is evaluated by `traider.ml.evaluation.champion_evaluator` when the training side provides
it, otherwise from the champion run's recorded `oos_sharpe` (only comparable on the very same window).
Re-running is safe: a version is gated once. See ADR-0008.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from traider.orchestration.assets import MODELS_TRAINED
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE


@dag(
    schedule=[MODELS_TRAINED],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "models": Param([], type="array", description="Registered models to gate; empty: every registered model"),
    },
    tags=["models", "registry"],
    doc_md=__doc__,
)
def gate() -> None:
    @task
    def candidates(params: dict[str, Any] | None = None) -> list[dict[str, str]]:
        """List the versions of the chosen models that the gate has not judged yet."""
        from traider.registry.pipeline import pending_candidates

        return pending_candidates(list((params or {}).get("models") or []))

    @task(map_index_template="{{ candidate['name'] }} v{{ candidate['version'] }}")
    def judge(candidate: dict[str, str]) -> dict[str, Any]:
        """Gate one version: promote, challenger or reject, with its reasons recorded."""
        from traider.registry.pipeline import gate_candidate

        return gate_candidate(candidate["name"], candidate["version"])

    judge.expand(candidate=candidates())


gate()
