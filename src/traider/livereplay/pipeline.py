"""What the `live_replay` DAG's tasks call: which workers traded a day, and replay-judge one of them.

Both read the settings (and MLFLOW_TRACKING_* credentials) from the environment. A worker is replayed with the
model version that traded the day (the version on most of its orders; the current `production` version when it
sent none) and the worker's defaults: the mode's limits, the venue's fee schedule, 2 bps of slippage.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from traider.config import get_settings

DEFAULT_SLIPPAGE_BPS = 2.0


def day_to_replay(chosen: str, interval_start: datetime | None, now: datetime | None = None) -> str:
    """Return the day to replay (ISO): the chosen one, else the run's data interval start, else yesterday (UTC)."""
    if chosen:
        return date.fromisoformat(chosen).isoformat()
    if interval_start is not None:
        return interval_start.astimezone(UTC).date().isoformat()
    return ((now or datetime.now(UTC)) - timedelta(days=1)).date().isoformat()


def workers_of_day(day: str) -> list[str]:
    """Return the components of the workers that wrote P&L snapshots on `day` (ISO date)."""
    from traider.db.engine import application_engine

    engine = application_engine(get_settings())
    try:
        with engine.connect() as connection:
            rows: Any = connection.execute(
                text(
                    "SELECT DISTINCT strategy FROM trading.pnl_snapshots WHERE strategy LIKE 'worker:%' "
                    "AND ts >= CAST(:day AS date) AND ts < CAST(:day AS date) + 1 ORDER BY strategy"
                ),
                {"day": day},
            ).scalars()
            return [str(row) for row in rows]
    finally:
        engine.dispose()


def replay_worker_day(component: str, day: str, timeframe: str, model: str = "") -> dict[str, Any]:
    """Replay one worker's day, judge it, act (rollback and alert on a breach) and return the outcome."""
    from traider.backtest.costs.model import CostModel
    from traider.backtest.vectorised import BarCosts
    from traider.db.engine import application_engine
    from traider.livereplay.comparison import WorkerDay, compare_day
    from traider.livereplay.judge import judge_and_record
    from traider.risk.pretrade import PreTradeLimits

    settings = get_settings()
    engine = application_engine(settings)
    try:
        mode, venue = component.split(":")[1:3]
        worker = WorkerDay(
            component=component,
            day=date.fromisoformat(day),
            timeframe=timeframe,
            costs=BarCosts.from_cost_model(
                CostModel(venue=venue, market_type="spot"), slippage_bps=DEFAULT_SLIPPAGE_BPS
            ),
            limits=PreTradeLimits.for_mode("paper" if mode == "paper" else "live_small"),
        )
        traded = _model_of_day(engine, worker, model)
        if traded is None:
            return {"component": component, "day": day, "skipped": "no registered model traded this day"}
        from traider.ml.serving import load_model_strategy
        from traider.registry.client import registry_client

        client = registry_client(settings)
        strategy = load_model_strategy(traded[0], traded[1], settings.mlflow_uri)
        comparison = compare_day(engine, worker, strategy)
        verdict = judge_and_record(engine, client, worker, traded, comparison, max_drawdown=_gate_drawdown(traded[0]))
    finally:
        engine.dispose()
    return {
        "component": component,
        "day": day,
        "model": f"{traded[0]} v{traded[1]}",
        "pnl_deviation": comparison.pnl_deviation,
        "live_drawdown": comparison.live_drawdown,
        "matched_orders": f"{comparison.matched_orders}/{comparison.live_orders}",
        "action": verdict.action,
        "reasons": list(verdict.reasons),
    }


def _model_of_day(engine: Any, worker: Any, model: str) -> tuple[str, str] | None:
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT model_name, model_version FROM trading.orders WHERE mode = :mode AND venue = :venue "
                "AND symbol = :symbol AND model_name IS NOT NULL AND created_at >= CAST(:day AS date) "
                "AND created_at < CAST(:day AS date) + 1 AND (:model = '' OR model_name = :model) "
                "GROUP BY model_name, model_version ORDER BY count(*) DESC, model_version DESC LIMIT 1"
            ),
            {"mode": worker.mode, "venue": worker.venue, "symbol": worker.symbol, "day": worker.day, "model": model},
        ).first()
    if row is not None:
        return str(row.model_name), str(row.model_version)
    if not model:
        return None
    from traider.registry.client import registry_client
    from traider.registry.versions import aliases

    version = aliases(registry_client(get_settings()), model).get("production")
    return None if version is None else (model, version)


def _gate_drawdown(name: str) -> float:
    from traider.ml.spec import GateThresholds, load_specs

    spec = load_specs().get(name)
    return (spec.gate if spec is not None else GateThresholds()).max_drawdown
