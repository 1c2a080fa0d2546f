"""
### Nightly live replay

Every night, for the day before: each execution worker that traded is replayed through the backtester with the
model version it traded (its own decision path, started where the worker stood when the day began, on the
day's stored bars), and compared with what it actually did — decisions, fill prices and P&L. The comparison is
stored in `ops.live_replays`. When the P&L deviation exceeds 5% or the worker's drawdown breaches the model's
gate threshold, `production` moves back to the previous champion automatically, an alert goes out, and both
are audited. Re-running a night updates its rows and never rolls back twice. CI triggers it through the REST
API (`traider airflow trigger live_replay --wait`). See ADR-0011.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from traider.orchestration.defaults import DEFAULT_ARGS, START_DATE


@dag(
    schedule="30 0 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "day": Param("", type="string", description="Day to replay (YYYY-MM-DD); empty: the day before the run"),
        "timeframe": Param("1h", type="string", description="Bar size the workers trade on"),
        "model": Param("", type="string", description="Only the workers trading this model; empty: all"),
    },
    tags=["models", "execution"],
    doc_md=__doc__,
)
def live_replay() -> None:
    @task
    def workers(params: dict[str, Any] | None = None, data_interval_start: Any = None) -> list[dict[str, str]]:
        """List the workers that traded the day, with the day and settings each replay needs."""
        from traider.livereplay.pipeline import day_to_replay, workers_of_day

        chosen = dict(params or {})
        day = day_to_replay(chosen.get("day") or "", data_interval_start)
        return [
            {"component": component, "day": day, "timeframe": chosen.get("timeframe") or "1h",
             "model": chosen.get("model") or ""}
            for component in workers_of_day(day)
        ]  # fmt: skip

    @task(map_index_template="{{ worker['component'] }}")
    def replay(worker: dict[str, str]) -> dict[str, Any]:
        """Replay one worker's day, compare, and roll back on a breach."""
        from traider.livereplay.pipeline import replay_worker_day

        return replay_worker_day(worker["component"], worker["day"], worker["timeframe"], worker["model"])

    replay.expand(worker=workers())


live_replay()
