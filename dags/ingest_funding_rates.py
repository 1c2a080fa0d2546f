"""
### Ingest funding rates (perpetual venues only)

Every 8 hours, for each enabled venue × symbol in `config/marketdata.yaml` (and the
simulator, when switched on there), fetch the funding rates of the data interval and load them into
`market.funding_rates`: validated, bad rows quarantined in `ops.quarantine`, idempotent (a re-run or a
backfill of the same interval changes nothing). Updates the `market_funding_rates` asset, which schedules
`data_quality`. Backfill with `airflow dags backfill ingest_funding_rates --from-date … --to-date …`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task

from traider.marketdata.records import Stream
from traider.orchestration.assets import MARKET_ASSETS
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE

STREAM = Stream.FUNDING_RATES


@dag(
    schedule=CronDataIntervalTimetable("0 */8 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ingest", "market-data"],
    doc_md=__doc__,
)
def ingest_funding_rates() -> None:
    @task
    def plan() -> list[dict[str, str]]:
        """Read the venue file: one target per enabled venue and symbol."""
        from traider.marketdata.ingest import plan_targets

        return plan_targets(STREAM)

    @task(outlets=[MARKET_ASSETS[STREAM]], map_index_template="{{ target['venue'] }} {{ target['symbol'] }}")
    def ingest(
        target: dict[str, str], data_interval_start: Any = None, data_interval_end: Any = None
    ) -> dict[str, Any]:
        """Fetch and load one target's funding rates (perpetual venues only) for the data interval."""
        from traider.marketdata.ingest import ingest_interval

        return ingest_interval(target, data_interval_start, data_interval_end)

    ingest.expand(target=plan())


ingest_funding_rates()
