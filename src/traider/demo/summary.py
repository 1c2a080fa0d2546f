"""The demo's closing summary: read back from PostgreSQL and MLflow what the run left there, and print it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from traider.config import Settings
    from traider.demo.pipeline import DemoOutcome

WORKER = "worker:paper:binance:BTC/USDT"


def gather(settings: Settings, engine: Engine, outcome: DemoOutcome) -> dict[str, Any]:
    """Return the figures of the summary as JSON-safe data."""
    from traider.demo.pipeline import SOURCE_TIMEFRAME, SYMBOL, VENUE

    with engine.connect() as connection:
        bars: Any = connection.execute(
            text("SELECT count(*) FROM market.ohlcv WHERE venue = :v AND symbol = :s AND timeframe = :t"),
            {"v": VENUE, "s": SYMBOL, "t": SOURCE_TIMEFRAME},
        ).scalar_one()
        quarantined: Any = connection.execute(text("SELECT count(*) FROM ops.quarantine")).scalar_one()
        trading = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM trading.orders WHERE mode = 'paper') AS orders, "
                "(SELECT count(*) FROM trading.fills f JOIN trading.orders o ON o.id = f.order_id "
                "WHERE o.mode = 'paper') AS fills, (SELECT coalesce(sum(fee), 0) FROM trading.fills) AS fees"
            )
        ).one()
        equity = connection.execute(
            text(
                "SELECT (SELECT equity FROM trading.pnl_snapshots WHERE strategy = :c ORDER BY ts LIMIT 1) AS first, "
                "(SELECT equity FROM trading.pnl_snapshots WHERE strategy = :c ORDER BY ts DESC LIMIT 1) AS last"
            ),
            {"c": WORKER},
        ).one()
        replay = connection.execute(
            text(
                "SELECT day, model_name, model_version, live_pnl, replay_pnl, pnl_deviation, live_orders, "
                "matched_orders, action FROM ops.live_replays WHERE component = :c ORDER BY day DESC LIMIT 1"
            ),
            {"c": WORKER},
        ).first()
    quality = [run for run in outcome.dag_runs if run["dag_id"] == "data_quality"]
    home = settings.home.expanduser().resolve()
    return {
        "minutes": round(outcome.seconds / 60, 1),
        "bars_stored": int(bars),
        "rows_quarantined": int(quarantined),
        "quality_days_passed": sum(run["state"] == "success" for run in quality),
        "quality_days_failed": sum(run["state"] != "success" for run in quality),
        "dag_runs": outcome.dag_runs,
        "models": _models(settings),
        "traded_model": f"{outcome.model[0]} v{outcome.model[1]}" if outcome.model else None,
        "promoted_by_hand": outcome.promoted_by_hand,
        "orders": int(trading.orders),
        "fills": int(trading.fills),
        "fees": float(trading.fees),
        "pnl": None if equity.first is None else float(equity.last) - 10_000.0,
        "live_replay": None
        if replay is None
        else {
            "day": str(replay.day),
            "model": f"{replay.model_name} v{replay.model_version}",
            "live_pnl": replay.live_pnl,
            "replay_pnl": replay.replay_pnl,
            "pnl_deviation": replay.pnl_deviation,
            "matched_orders": f"{replay.matched_orders}/{replay.live_orders}",
            "action": replay.action,
        },
        "reports": {
            "data_docs": str(home / "data_docs"),
            "dbt_docs": str(home / "dbt_docs"),
            "training_reports": f"{settings.mlflow_uri} (each run's report/ artifacts)",
            "dag_run_log": str(home / "logs" / "demo-dag-runs.log"),
            "summary": "reports/demo.json",
        },
        "urls_of_make_up": {
            "airflow": "http://127.0.0.1:8080",
            "mlflow": f"http://127.0.0.1:{settings.mlflow_port}",
            "dashboard": "http://127.0.0.1:8501",
        },
    }


def _models(settings: Settings) -> list[dict[str, Any]]:
    from traider.ml.spec import load_specs
    from traider.registry.client import registry_client

    client = registry_client(settings)
    rows: list[dict[str, Any]] = []
    for name in load_specs():
        versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda item: int(item.version))
        if not versions:
            rows.append({"model": name, "version": None})
            continue
        latest = versions[-1]
        metrics = client.get_run(latest.run_id).data.metrics if latest.run_id else {}
        rows.append(
            {
                "model": name,
                "version": str(latest.version),
                "oos_sharpe": metrics.get("oos_sharpe"),
                "oos_max_drawdown": metrics.get("oos_max_drawdown"),
                "dsr_probability": metrics.get("dsr_probability"),
                "gate": latest.tags.get("gate.decision"),
                "reason": latest.tags.get("gate.reasons", "").split("\n")[0][:100],
            }
        )
    return rows


def write(summary: dict[str, Any], path: Path) -> None:
    """Write the summary as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str))


def render(summary: dict[str, Any], console: Console) -> None:
    """Print the summary as a few tables."""
    from rich.table import Table

    console.rule(f"TRAIDER demo — done in {summary['minutes']} min")
    console.print(
        f"Data: {summary['bars_stored']:,} Binance BTC/USDT 5m bars stored, {summary['rows_quarantined']} rows "
        f"quarantined; quality gate passed {summary['quality_days_passed']} days, failed "
        f"{summary['quality_days_failed']} (their bars never reach the features)."
    )
    models = Table("model", "version", "OOS Sharpe", "OOS max DD", "DSR", "gate", title="Models")
    for row in summary["models"]:
        models.add_row(row["model"], row.get("version") or "-", _number(row.get("oos_sharpe")),
                       _percent(row.get("oos_max_drawdown")), _number(row.get("dsr_probability")),
                       row.get("gate") or "-")  # fmt: skip
    console.print(models)
    if summary["promoted_by_hand"]:
        console.print(f"[yellow]No version passed the gate; {summary['promoted_by_hand']} was promoted by hand "
                      "for the paper session (recorded in ops.model_decisions and the audit log).[/]")  # fmt: skip
    pnl = summary["pnl"]
    console.print(
        f"Paper trading ({summary['traded_model']}): {summary['orders']} orders, {summary['fills']} fills, "
        f"fees {summary['fees']:,.2f}, P&L {'-' if pnl is None else f'{pnl:,.2f}'} on 10,000.00."
    )
    replay = summary["live_replay"]
    if replay:
        console.print(
            f"Live replay of {replay['day']} ({replay['model']}): live P&L {replay['live_pnl']:,.2f}, replayed "
            f"{replay['replay_pnl']:,.2f}, deviation {replay['pnl_deviation']:.2%}, orders matched "
            f"{replay['matched_orders']}, action {replay['action']}."
        )
    for name, where in summary["reports"].items():
        console.print(f"  {name}: {where}")
    urls = summary["urls_of_make_up"]
    console.print(f"`make up` serves Airflow at {urls['airflow']}, MLflow at {urls['mlflow']}, "
                  f"the dashboard at {urls['dashboard']} (all behind login).")  # fmt: skip


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"
