"""
### Ingest OHLCV bars

Every hour, for each enabled venue × symbol × timeframe in `config/marketdata.yaml` (and the
simulator, when switched on there), fetch the bars of the data interval and load them into
`market.ohlcv`: validated, bad rows quarantined in `ops.quarantine`, idempotent (a re-run or a
backfill of the same interval changes nothing). Updates the `market_ohlcv` asset, which schedules
`data_quality`. Backfill with `airflow dags backfill ingest_ohlcv --from-date … --to-date …`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task

from traider.marketdata.records import Stream
from traider.orchestration.assets import MARKET_ASSETS
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE

STREAM = Stream.OHLCV


@dag(
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ingest", "market-data"],
    doc_md=__doc__,
)
def ingest_ohlcv() -> None:
    @task
    def plan() -> list[dict[str, str]]:
        """Read the venue file: one target per enabled venue, symbol and timeframe."""
        from traider.marketdata.ingest import plan_targets

        return plan_targets(STREAM)

    @task(outlets=[MARKET_ASSETS[STREAM]], map_index_template="{{ target['venue'] }} {{ target['symbol'] }}")
    def ingest(
        target: dict[str, str], data_interval_start: Any = None, data_interval_end: Any = None
    ) -> dict[str, Any]:
        """Fetch and load one target's bars for the data interval."""
        from traider.marketdata.ingest import ingest_interval

        return ingest_interval(target, data_interval_start, data_interval_end)

    ingest.expand(target=plan())


ingest_ohlcv()
