"""
### Build features

Scheduled on the `market_quality_passed` asset: it runs only after the data-quality gate passed,
so features are built from checked data alone. For now it records how much checked data is ready
per table; the dbt build (staging → intermediate → marts) replaces this task with the feature issue.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from traider.orchestration.assets import QUALITY_PASSED
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE


@dag(
    schedule=[QUALITY_PASSED],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["features"],
    doc_md=__doc__,
)
def build_features() -> None:
    @task
    def checked_rows() -> dict[str, int]:
        """Count the rows per market table that the feature build will read."""
        from traider.orchestration.windows import market_row_counts

        return market_row_counts()

    checked_rows()


build_features()
