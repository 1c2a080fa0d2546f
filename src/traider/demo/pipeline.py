"""`traider demo`: the whole job end to end on the embedded PostgreSQL, as real Airflow DAG runs.

1. the embedded PostgreSQL (started and migrated by `make demo` before this), the exchange emulator (no exchange
   is reachable from these machines: Binance is served from recorded payloads), the MLflow server (admin password
   generated once into `$TRAIDER_HOME/secrets`), and an Airflow metadata database of the demo's own;
2. DAG runs, in one Airflow process (`traider.demo.dag_runs`): `ingest_ohlcv` (39 days of Binance BTC/USDT 5m
   bars through ccxt and the emulator), `data_quality` for each day, `build_features` (dbt), `train` (every spec
   in models/) and `gate`;
3. a paper session of `traider worker` trading the production model over the stored bars (when no version
   passed the gate, the best one by out-of-sample Sharpe is promoted by hand for the session, recorded as such);
4. the `live_replay` DAG for the worker's last full day;
5. a summary: rows ingested, checks passed and failed, models with their metrics and decisions, trades, P&L,
   the live-replay deviation, report paths, and the URLs `make up` serves. Also written to reports/demo.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from traider.config import Settings

REPO = Path(__file__).resolve().parents[3]
FIRST_DAY = datetime(2023, 1, 2, tzinfo=UTC)
DAYS = 39
VENUE, SYMBOL, SOURCE_TIMEFRAME, TIMEFRAME = "binance", "BTC/USDT", "5m", "1h"
AIRFLOW_DATABASE = "traider_demo_airflow"
Say = Callable[[str], None]


@dataclass
class DemoOutcome:
    """What the demo did, for the summary."""

    started: float = field(default_factory=time.monotonic)
    dag_runs: list[dict[str, Any]] = field(default_factory=list)
    promoted_by_hand: str | None = None
    worker_output: str = ""
    model: tuple[str, str] | None = None
    replay_day: str | None = None

    @property
    def seconds(self) -> float:
        """Return how long the demo has run."""
        return time.monotonic() - self.started


def run_demo(settings: Settings, say: Say) -> DemoOutcome:
    """Run every step; raise `DemoError` (one line) when a required one fails."""
    from traider.db.engine import application_engine
    from traider.marketdata.emulator import ExchangeEmulator

    outcome = DemoOutcome()
    home = settings.home.expanduser().resolve()
    engine = application_engine(settings)
    server_url = _server_url(settings)
    with ExchangeEmulator(venues=["binance"]) as emulator:
        say(
            "No exchange is reachable from this machine: Binance is served by the local exchange emulator "
            f"(real recorded payloads) at {emulator.url}."
        )
        with _mlflow(settings, server_url, home, say) as mlflow_env:
            environment = _airflow_environment(settings, server_url, home, emulator.url, mlflow_env, say)
            ingest, pipeline = _plan()
            say(f"Ingesting {DAYS} days of Binance {SYMBOL} {SOURCE_TIMEFRAME} bars through ccxt (ingest_ohlcv DAG)…")
            outcome.dag_runs += _run_dags(ingest, environment, home, say)
            _require_bars(engine)
            say(f"Running {len(pipeline)} DAG runs ({DAYS} daily quality gates, features, train, gate)…")
            outcome.dag_runs += _run_dags(pipeline, environment, home, say)
            outcome.model = _production_model(settings, engine, mlflow_env, outcome, say)
            say(f"Paper-trading {outcome.model[0]} v{outcome.model[1]} over the stored bars with `traider worker`…")
            outcome.worker_output = _worker_session(environment, outcome.model[0])
            say(outcome.worker_output.strip().splitlines()[-1] if outcome.worker_output.strip() else "(no output)")
            outcome.replay_day = _last_full_day(engine)
            if outcome.replay_day is not None:
                say(f"Replaying the worker's {outcome.replay_day} through the backtester (live_replay DAG)…")
                conf = {"day": outcome.replay_day, "timeframe": TIMEFRAME, "model": outcome.model[0]}
                replay = [_entry("live_replay", outcome.replay_day, "live replay", conf)]
                outcome.dag_runs += _run_dags(replay, environment, home, say)
    engine.dispose()
    return outcome


class DemoError(Exception):
    """A required demo step failed; the message says which and where its log is."""


def _server_url(settings: Settings) -> Any:
    from traider.db.embedded import running_uri
    from traider.db.url import parse_database_url

    if settings.database_url is not None:
        return parse_database_url(settings.database_url.get_secret_value(), setting="TRAIDER_DATABASE_URL")
    uri = running_uri(settings.home / "pg")
    if uri is None:
        raise DemoError("the embedded PostgreSQL is not running: run `traider db up` (make demo does)")
    return parse_database_url(uri, setting="embedded server")


@contextmanager
def _mlflow(settings: Settings, server_url: Any, home: Path, say: Say) -> Iterator[dict[str, str]]:
    from traider.config.local_secrets import generated_secret
    from traider.registry import server

    password, created = generated_secret(home, "mlflow_admin_password")
    if created:
        say(f"MLflow admin password generated (shown once): {password}  — kept in {home / 'secrets'}")
    environment = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password}
    config = server.config_from_settings(settings, server_url, {**os.environ, **environment})
    server.ensure_database(server_url, config.database)
    started = server.start(config)
    say(f"MLflow tracking server {'started' if started else 'already running'} at {config.tracking_uri}")
    environment["TRAIDER_MLFLOW_TRACKING_URI"] = config.tracking_uri
    os.environ.update(environment)  # this process's registry client
    yield environment


def _airflow_environment(
    settings: Settings, server_url: Any, home: Path, emulator_url: str, mlflow_env: dict[str, str], say: Say
) -> dict[str, str]:
    from traider.db.databases import ensure_database

    ensure_database(server_url, AIRFLOW_DATABASE, purpose="the demo's Airflow metadata")
    airflow_home = home / "demo" / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    venues = home / "demo" / "marketdata.yaml"
    venues.parent.mkdir(parents=True, exist_ok=True)
    venues.write_text(
        "default_spot_venue: binance\nvenues:\n  binance:\n    ccxt_id: binance\n    market_type: spot\n"
        f"    enabled: true\n    symbols: [{SYMBOL}]\n    timeframes: [{SOURCE_TIMEFRAME}]\n    streams: [ohlcv]\n"
    )
    metadata = server_url.set(drivername="postgresql+psycopg", database=AIRFLOW_DATABASE)
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")},
        **mlflow_env,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.render_as_string(hide_password=False),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "TRAIDER_HOME": str(home),
        "TRAIDER_EXCHANGE_EMULATOR_URL": emulator_url,
        "TRAIDER_MARKETDATA_CONFIG": str(venues),
    }
    say("Preparing the Airflow metadata database (airflow db migrate)…")
    airflow = str(Path(sys.executable).with_name("airflow"))
    for command in (("db", "migrate"), ("dags", "reserialize")):
        done = subprocess.run([airflow, *command], env=environment, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise DemoError(f"airflow {' '.join(command)} failed: {(done.stderr or done.stdout).strip()[-400:]}")
    return environment


def _entry(
    dag_id: str, day: str, label: str, conf: dict[str, Any] | None = None, *, required: bool = False
) -> dict[str, Any]:
    return {"dag_id": dag_id, "logical_date": f"{day}T12:00:00+00:00", "label": label, "conf": conf or {},
            "required": required}  # fmt: skip


def _require_bars(engine: Any) -> None:
    from sqlalchemy import text

    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT count(*) FROM market.ohlcv WHERE venue = :v AND symbol = :s AND timeframe = :t"),
            {"v": VENUE, "s": SYMBOL, "t": SOURCE_TIMEFRAME},
        ).scalar_one()
    if not stored:
        raise DemoError(f"the ingestion stored no {VENUE} {SYMBOL} {SOURCE_TIMEFRAME} bars: nothing to build on")


def _plan() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from traider.ml.spec import load_specs

    last = FIRST_DAY + timedelta(days=DAYS)
    window = {"start": FIRST_DAY.isoformat(), "end": last.isoformat()}
    ingest = [
        _entry("ingest_ohlcv", FIRST_DAY.date().isoformat(), "ingest Binance BTC/USDT 5m bars", window, required=True)
    ]
    plan: list[dict[str, Any]] = []
    for number in range(DAYS):
        day = FIRST_DAY + timedelta(days=number)
        bounds = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
        plan.append(_entry("data_quality", day.date().isoformat(), f"quality gate {day.date()}", bounds))
    done = last.date().isoformat()
    specs = list(load_specs())
    plan.append(_entry("build_features", done, "dbt features", required=True))
    plan.append(_entry("train", done, f"train {len(specs)} models", {"specs": specs}, required=True))
    plan.append(_entry("gate", done, "model gate", {"models": specs}, required=True))
    return ingest, plan


def _run_dags(plan: list[dict[str, Any]], environment: dict[str, str], home: Path, say: Say) -> list[dict[str, Any]]:
    directory = home / "demo"
    plan_file, results_file = directory / "plan.json", directory / "results.json"
    log_file = home / "logs" / "demo-dag-runs.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    plan_file.write_text(json.dumps(plan))
    results_file.write_text("[]")
    command = [sys.executable, "-m", "traider.demo.dag_runs", str(plan_file), str(results_file)]
    with (
        log_file.open("a") as log,
        subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if line.startswith("[") and "/" in line.split("]")[0]:
                say("  " + line.rstrip())
        code = process.wait()
    results: list[dict[str, Any]] = json.loads(results_file.read_text())
    if code != 0:
        failed = next((item["label"] for item in results if item["state"] != "success"), "a DAG run")
        raise DemoError(f"{failed} failed; its log is in {log_file}")
    return results


def _production_model(
    settings: Settings, engine: Any, mlflow_env: dict[str, str], outcome: DemoOutcome, say: Say
) -> tuple[str, str]:
    """Return the model and version to trade: one in production, else the best by out-of-sample Sharpe, promoted."""
    from traider.ml.spec import load_specs
    from traider.registry.aliases import promote
    from traider.registry.client import registry_client
    from traider.registry.versions import aliases

    client = registry_client(settings)
    best: tuple[float, str, str] | None = None
    for name in load_specs():
        production = aliases(client, name).get("production")
        if production is not None:
            say(f"{name} v{production} holds production.")
            return name, production
        for found in client.search_model_versions(f"name='{name}'"):
            if found.run_id is None:
                continue
            sharpe = client.get_run(found.run_id).data.metrics.get("oos_sharpe", float("-inf"))
            if best is None or sharpe > best[0]:
                best = (sharpe, name, str(found.version))
    if best is None:
        raise DemoError("no model version was registered: the train DAG registered nothing")
    _, name, version = best
    reason = (
        "demo: no version passed the gate on 39 days of data; the best by out-of-sample Sharpe is promoted by hand "
        "so the paper session has a model to trade"
    )
    promote(client, engine, name, version, reason=reason, actor="demo", force=True)
    outcome.promoted_by_hand = f"{name} v{version}"
    say(
        f"No version passed the gate; {name} v{version} (best out-of-sample Sharpe) is promoted by hand for the "
        "paper session, recorded as such."
    )
    return name, version


def _worker_session(environment: dict[str, str], model: str) -> str:
    command = [sys.executable, "-m", "traider", "worker", "--venue", VENUE, "--symbol", SYMBOL, "--timeframe",
               TIMEFRAME, "--model", model, "--feed", "stored"]  # fmt: skip
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise DemoError(f"the paper worker failed: {(done.stderr or done.stdout).strip()[-400:]}")
    return done.stdout


def _last_full_day(engine: Any) -> str | None:
    from sqlalchemy import text

    with engine.connect() as connection:
        last = connection.execute(
            text("SELECT max(ts) FROM trading.pnl_snapshots WHERE strategy = :component"),
            {"component": f"worker:paper:{VENUE}:{SYMBOL}"},
        ).scalar()
    return None if last is None else (last - timedelta(days=1)).date().isoformat()
