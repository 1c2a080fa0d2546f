"""The shape every ingestion DAG shares: plan the configured targets, then ingest each for the interval."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, dag, task

from traider.marketdata.records import Stream
from traider.orchestration.assets import MARKET_ASSETS
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE


def build_ingest_dag(stream: Stream, *, dag_id: str, cron: str, doc: str | None) -> DAG:
    """Return the DAG that ingests `stream` for every configured target on the `cron` data intervals."""

    @dag(
        dag_id=dag_id,
        schedule=CronDataIntervalTimetable(cron, timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "start": Param(None, type=["null", "string"], description="Window start (ISO time) of a manual backfill"),
            "end": Param(None, type=["null", "string"], description="Window end (ISO time) of a manual backfill"),
        },
        tags=["ingest", "market-data"],
        doc_md=doc,
    )
    def ingest_stream() -> None:
        @task
        def plan() -> list[dict[str, str]]:
            """Read the venue file: one target per enabled venue, symbol (and timeframe for bars)."""
            from traider.marketdata.ingest import plan_targets

            return plan_targets(stream)

        @task(outlets=[MARKET_ASSETS[stream]], map_index_template="{{ target['venue'] }} {{ target['symbol'] }}")
        def ingest(
            target: dict[str, str],
            data_interval_start: Any = None,
            data_interval_end: Any = None,
            params: dict[str, Any] | None = None,
        ) -> dict[str, Any]:
            """Fetch and load one target's rows for the data interval, or the run's start/end (idempotent)."""
            from traider.marketdata.ingest import ingest_interval, manual_window

            start, end = manual_window(params or {}, data_interval_start, data_interval_end)
            return ingest_interval(target, start, end)

        ingest.expand(target=plan())

    built: DAG = ingest_stream()
    return built
