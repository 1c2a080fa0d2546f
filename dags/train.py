"""
### Train models

Runs when `build_features` has rebuilt the feature marts from quality-checked data (the `features_built`
asset), or by hand with `specs` naming the specs to train (empty: all). One mapped task per spec in
`models/*.yaml`: purged walk-forward CV on `features.training_set`, a fee- and slippage-aware backtest of
each test window, everything logged to MLflow and registered as a new version of the model named after the
spec. When the training tasks are done, `models_trained` is updated and the gate DAG judges the new versions.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from traider.orchestration.assets import FEATURES_BUILT, MODELS_TRAINED
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE


@dag(
    schedule=[FEATURES_BUILT],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"specs": Param([], type="array", description="Spec names to train; empty: every spec in models/")},
    tags=["models", "training"],
    doc_md=__doc__,
)
def train() -> None:
    @task
    def specs(**context: Any) -> list[str]:
        """List the specs to train (ensembles last: they reuse their members' definitions)."""
        from traider.ml.spec import load_specs

        chosen = list((context.get("params") or {}).get("specs") or [])
        known = list(load_specs())
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise ValueError(f"unknown spec(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return chosen or known

    @task
    def dbt_invocation(**context: Any) -> str | None:
        """Return the id of the dbt build that triggered this run (None for a manual run)."""
        for events in (context.get("triggering_asset_events") or {}).values():
            for event in reversed(list(events)):
                invocation = (getattr(event, "extra", None) or {}).get("dbt_invocation_id")
                if invocation:
                    return str(invocation)
        return None

    @task(map_index_template="{{ spec }}")
    def fit(spec: str, invocation: str | None) -> dict[str, Any]:
        """Train one spec and register its model version."""
        from traider.ml.pipeline import train_and_register

        return train_and_register(spec, dbt_invocation_id=invocation)

    @task(outlets=[MODELS_TRAINED])
    def registered(versions: list[dict[str, Any]]) -> list[str]:
        """Announce the new versions to the gate."""
        return [f"{version['spec']} v{version['version']}" for version in versions]

    registered(fit.partial(invocation=dbt_invocation()).expand(spec=specs()))


train()
