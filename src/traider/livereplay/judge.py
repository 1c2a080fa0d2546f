"""Judge a replayed day and act: store the comparison, and roll the model back when live trading strays.

A day breaches when the P&L deviation exceeds `max_deviation` (5%) or the worker's drawdown over the day exceeds
the model's gate threshold (the spec's `gate.max_drawdown`). On a breach the model's `production` alias moves
back to the previous champion (`registry.aliases.rollback`, which records the move in `ops.model_decisions` and
the audit log) and a critical alert goes out. Only the version that traded the day is rolled back, and only
once: a re-run of the same day, or a day whose version is no longer in production, alerts without moving it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from traider.alerts.dispatch import raise_alert
from traider.alerts.model import Alert

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from sqlalchemy.engine import Engine

    from traider.livereplay.comparison import DayComparison, WorkerDay

MAX_PNL_DEVIATION = 0.05
ACTOR = "live_replay"


@dataclass(frozen=True)
class Verdict:
    """What was decided about one worker's day."""

    action: str  # none, rollback or alert
    reasons: tuple[str, ...]
    rolled_back_to: str | None = None


def breaches(comparison: DayComparison, *, max_deviation: float, max_drawdown: float) -> list[str]:
    """Return why the day breaches (empty: it does not)."""
    reasons = []
    if comparison.pnl_deviation > max_deviation:
        reasons.append(
            f"P&L deviation {comparison.pnl_deviation:.1%} exceeds {max_deviation:.0%} (live "
            f"{comparison.live_pnl:,.2f} against replayed {comparison.replay_pnl:,.2f})"
        )
    if comparison.live_drawdown > max_drawdown:
        reasons.append(f"live drawdown {comparison.live_drawdown:.2%} exceeds the gate's {max_drawdown:.2%}")
    return reasons


def judge_and_record(
    engine: Engine,
    client: MlflowClient | None,
    worker: WorkerDay,
    model: tuple[str, str] | None,
    comparison: DayComparison,
    *,
    max_deviation: float = MAX_PNL_DEVIATION,
    max_drawdown: float,
) -> Verdict:
    """Decide about the day, roll back if it breaches (once), alert, and store the row; return the verdict."""
    reasons = breaches(comparison, max_deviation=max_deviation, max_drawdown=max_drawdown)
    verdict = Verdict("none", ())
    if reasons:
        verdict = _act(engine, client, worker, model, reasons)
        raise_alert(
            engine,
            Alert(
                "critical",
                ACTOR,
                f"{worker.component} on {worker.day}: {'; '.join(verdict.reasons)}",
                {"component": worker.component, "day": str(worker.day), "model": list(model) if model else None},
                f"live_replay:{worker.component}:{worker.day}",
            ),
        )
    _store(engine, worker, model, comparison, verdict)
    return verdict


def _act(
    engine: Engine, client: MlflowClient | None, worker: WorkerDay, model: tuple[str, str] | None, reasons: list[str]
) -> Verdict:
    if _already_rolled_back(engine, worker):
        return Verdict("rollback", (*reasons, "already rolled back for this day"))
    if model is None or client is None:
        return Verdict("alert", (*reasons, "no registered model traded: nothing to roll back"))
    from traider.registry.aliases import rollback
    from traider.registry.errors import NoPreviousChampionError
    from traider.registry.versions import aliases

    name, version = model
    if aliases(client, name).get("production") != version:
        return Verdict("alert", (*reasons, f"{name} v{version} is no longer in production: alias left as it is"))
    try:
        stored = rollback(
            client, engine, name, reason=f"live replay of {worker.day}: {'; '.join(reasons)}", actor=ACTOR
        )
    except NoPreviousChampionError as error:
        return Verdict("alert", (*reasons, str(error)))
    return Verdict(
        "rollback", (*reasons, f"production moved from v{version} back to v{stored.version}"), str(stored.version)
    )


def _already_rolled_back(engine: Engine, worker: WorkerDay) -> bool:
    with engine.connect() as connection:
        action = connection.execute(
            text("SELECT action FROM ops.live_replays WHERE component = :component AND day = :day"),
            {"component": worker.component, "day": worker.day},
        ).scalar()
    return action == "rollback"


def _store(
    engine: Engine, worker: WorkerDay, model: tuple[str, str] | None, comparison: DayComparison, verdict: Verdict
) -> None:
    """Upsert the day's row in ops.live_replays and the replay's equity path as `backtest` P&L snapshots
    (strategy = the worker's component), which the dashboard's analysis page sets against the worker's own."""
    details: dict[str, Any] = {**comparison.as_details(), "rolled_back_to": verdict.rolled_back_to}
    with engine.begin() as connection:
        if comparison.replay_curve:
            connection.execute(
                text(
                    "INSERT INTO trading.pnl_snapshots (mode, strategy, ts, equity, realised_pnl, unrealised_pnl, "
                    "fees_paid, funding_pnl) SELECT 'backtest', :component, to_timestamp(c.ts / 1e9), c.equity, "
                    "c.equity - :start, 0, 0, 0 FROM unnest(CAST(:stamps AS bigint[]), CAST(:equities AS float8[])) "
                    "AS c(ts, equity) ON CONFLICT (mode, strategy, ts) DO UPDATE SET equity = EXCLUDED.equity, "
                    "realised_pnl = EXCLUDED.realised_pnl"
                ),
                {
                    "component": worker.component,
                    "start": comparison.start_equity,
                    "stamps": [stamp for stamp, _ in comparison.replay_curve],
                    "equities": [equity for _, equity in comparison.replay_curve],
                },
            )
        connection.execute(
            text(
                "INSERT INTO ops.live_replays (day, component, model_name, model_version, live_pnl, replay_pnl, "
                "pnl_deviation, live_drawdown, live_orders, replay_orders, matched_orders, fill_price_deviation_bps, "
                "action, reasons, details) VALUES (:day, :component, :model_name, :model_version, :live_pnl, "
                ":replay_pnl, :deviation, :drawdown, :live_orders, :replay_orders, :matched, :fill_bps, :action, "
                ":reasons, CAST(:details AS jsonb)) ON CONFLICT (component, day) DO UPDATE SET "
                "model_name = EXCLUDED.model_name, model_version = EXCLUDED.model_version, "
                "live_pnl = EXCLUDED.live_pnl, "
                "replay_pnl = EXCLUDED.replay_pnl, pnl_deviation = EXCLUDED.pnl_deviation, "
                "live_drawdown = EXCLUDED.live_drawdown, live_orders = EXCLUDED.live_orders, "
                "replay_orders = EXCLUDED.replay_orders, matched_orders = EXCLUDED.matched_orders, "
                "fill_price_deviation_bps = EXCLUDED.fill_price_deviation_bps, action = EXCLUDED.action, "
                "reasons = EXCLUDED.reasons, details = EXCLUDED.details, replayed_at = now()"
            ),
            {
                "day": worker.day,
                "component": worker.component,
                "model_name": model[0] if model else None,
                "model_version": model[1] if model else None,
                "live_pnl": comparison.live_pnl,
                "replay_pnl": comparison.replay_pnl,
                "deviation": comparison.pnl_deviation,
                "drawdown": comparison.live_drawdown,
                "live_orders": comparison.live_orders,
                "replay_orders": comparison.replay_orders,
                "matched": comparison.matched_orders,
                "fill_bps": comparison.fill_price_deviation_bps,
                "action": verdict.action,
                "reasons": list(verdict.reasons),
                "details": json.dumps(details, default=str),
            },
        )
