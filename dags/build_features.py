"""
### Build features

Scheduled on the `market_quality_passed` asset: it runs only after the data-quality gate passed,
so features are built from checked data alone (the staging views also keep only rows inside windows
the gate passed). One task runs `dbt build` of the project in `dbt/`: staging views → intermediate
models → the marts `features.features` and `features.training_set`, each model followed by its unit
and data tests; a failing test fails the task. Incremental models recompute only from the earliest
newly checked window on. dbt's documentation site goes to `$TRAIDER_HOME/dbt_docs/static_index.html`.
Trigger with `{"full_refresh": true}` to rebuild everything. A successful build updates the
`features_built` asset, on which the train DAG runs. See ADR-0007.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from traider.orchestration.assets import FEATURES_BUILT, QUALITY_PASSED
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE


@dag(
    schedule=[QUALITY_PASSED],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "full_refresh": Param(False, type="boolean", description="Rebuild every incremental model from scratch"),
    },
    tags=["features", "dbt"],
    doc_md=__doc__,
)
def build_features() -> None:
    @task(outlets=[FEATURES_BUILT])
    def dbt_build(**context: Any) -> dict[str, Any]:
        """Run `dbt build` of the feature project and its docs; fail when a model or a test fails."""
        from traider.features.dbt_runner import build_features as run_build

        params = context.get("params") or {}
        result = run_build(full_refresh=bool(params.get("full_refresh")), generate_docs=True).as_dict()
        context["outlet_events"][FEATURES_BUILT].extra = {"dbt_invocation_id": result["invocation_id"]}
        return result

    dbt_build()


build_features()
