"""
### Data quality gate

Runs whenever an ingestion DAG updates a `market` table. For every market table, runs its Great
Expectations suite (`expectations/<table>.yaml`) over the window the triggering ingestion runs
covered (or the `start`/`end` params of a manual run): schema, not-null, unique natural keys,
monotonic ingestion, OHLC consistency, gaps, price jumps, crossed books, stale funding and
cross-venue divergence. Results land in `ops.quality_results` and the Data Docs HTML. A failing
suite fails its task and raises an alert; only when every suite passes does `passed` update the
`market_quality_passed` asset, which is what the feature build waits for.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from traider.marketdata.records import Stream
from traider.orchestration.assets import MARKET_ASSETS, QUALITY_PASSED
from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE

TABLES = [stream.table for stream in Stream]


@dag(
    schedule=(
        MARKET_ASSETS[Stream.OHLCV]
        | MARKET_ASSETS[Stream.TRADES]
        | MARKET_ASSETS[Stream.BOOK_SNAPSHOTS]
        | MARKET_ASSETS[Stream.BOOK_DELTAS]
        | MARKET_ASSETS[Stream.FUNDING_RATES]
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},
    params={
        "start": Param(None, type=["null", "string"], description="Window start (ISO time) for a manual run"),
        "end": Param(None, type=["null", "string"], description="Window end (ISO time) for a manual run"),
    },
    tags=["quality", "market-data"],
    doc_md=__doc__,
)
def data_quality() -> None:
    @task
    def window(**context: Any) -> dict[str, str]:
        """Work out the window to check from the triggering asset events or the run's params."""
        from traider.orchestration.windows import quality_window

        return quality_window(context)

    @task(map_index_template="{{ table }}")
    def check(table: str, span: dict[str, str], run_id: str | None = None) -> dict[str, Any]:
        """Run one table's suite; fail (and alert) when it does not pass."""
        from traider.quality.suites import run_quality_gate

        return run_quality_gate(table, span["start"], span["end"], run_id=run_id or "manual")

    @task(outlets=[QUALITY_PASSED])
    def passed(results: list[dict[str, Any]]) -> int:
        """Mark the checked market data as fit for features (reached only when every suite passed)."""
        return len(results)

    span = window()
    passed(check.partial(span=span).expand(table=TABLES))


data_quality()
