"""Log a training run to MLflow and register it as a new version of the registered model named after the spec.

Logged: the spec's parameters and the parameters chosen; metrics per fold (step = fold number) and out of
sample (`oos_sharpe`, `oos_max_drawdown`, `dsr_probability`, …: the names the gate reads); the tags the gate
reads (`lookahead_clean`, `oos_start`, `oos_end`, `spec`, `gate.*` thresholds); the git commit and dbt
invocation id; the feature list, the data snapshot (rows, time range, content hash) and the spec as
artifacts; the stitched out-of-sample backtest report (HTML and JSON); and the model as a pyfunc with its
signature and an input example.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traider.ml.training import TrainingOutcome

REPOSITORY = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class RegisteredVersion:
    """Where a training run went: its MLflow run and the registered model version."""

    name: str
    version: str
    run_id: str
    model_uri: str


def log_and_register(
    outcome: TrainingOutcome, *, tracking_uri: str | None = None, dbt_invocation_id: str | None = None
) -> RegisteredVersion:
    """Log `outcome` as one MLflow run and register its model; return the new version."""
    import mlflow
    from mlflow.models import infer_signature

    from traider.ml.pyfunc import ScoringModel, save_model
    from traider.ml.training import model_features

    spec = outcome.spec
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(f"traider-{spec.name}")
    performance = outcome.oos_performance
    with (
        mlflow.start_run(run_name=f"{spec.name}-{outcome.oos_end:%Y%m%dT%H%M}") as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        mlflow.log_params(
            _flatten(
                {
                    "family": spec.family,
                    "label": spec.label.column,
                    "horizon": spec.label.horizon,
                    "hyperparameters": spec.hyperparameters,
                    "chosen": outcome.parameters,
                    "walk_forward": spec.walk_forward.model_dump(),
                    "trading": spec.trading.model_dump(),
                    "trials": outcome.trials,
                }
            )
        )
        for result in outcome.folds:
            fold = result.performance
            mlflow.log_metrics(
                {
                    "fold_sharpe": _finite(fold.sharpe_ratio),
                    "fold_return": _finite(fold.total_return),
                    "fold_max_drawdown": _finite(fold.max_drawdown),
                    "fold_validation_sharpe": _finite(result.validation_sharpe),
                },
                step=result.fold.number,
            )
        mlflow.log_metrics(
            {
                "oos_sharpe": _finite(performance.sharpe_ratio),
                "oos_max_drawdown": _finite(performance.max_drawdown),
                "dsr_probability": _finite(outcome.dsr_probability),
                "oos_total_return": _finite(performance.total_return),
                "oos_sortino": _finite(performance.sortino_ratio),
                "oos_fees_paid": performance.fees_paid,
                "oos_slippage_paid": performance.slippage_paid,
                "folds": len(outcome.folds),
            }
        )
        mlflow.set_tags(
            {
                "spec": spec.name,
                "lookahead_clean": str(outcome.lookahead_clean).lower(),
                "oos_start": outcome.oos_start.isoformat(),
                "oos_end": outcome.oos_end.isoformat(),
                "gate.min_sharpe": str(spec.gate.min_sharpe),
                "gate.max_drawdown": str(spec.gate.max_drawdown),
                "gate.min_dsr_probability": str(spec.gate.min_dsr_probability),
                "git_commit": git_commit(),
                "dbt_invocation_id": dbt_invocation_id or "none",
                "data.content_sha256": outcome.snapshot["content_sha256"],
                "data.rows": str(outcome.snapshot["rows"]),
            }
        )
        columns = model_features(spec, outcome.metadata.get("members"))
        mlflow.log_dict({"features": columns}, "features.json")
        mlflow.log_dict(outcome.snapshot, "data_snapshot.json")
        mlflow.log_dict(spec.model_dump(mode="json"), "spec.json")
        html, report_json = _write_report(outcome, folder / "report")
        mlflow.log_artifact(str(html), "report")
        mlflow.log_artifact(str(report_json), "report")
        model_dir = save_model(
            outcome.model,
            columns,
            folder / "model",
            threshold=spec.trading.threshold,
            allow_short=spec.trading.allow_short,
            spec=spec.name,
        )
        example = outcome.input_example
        signature = infer_signature(example, outcome.model.score(example.to_numpy(dtype="float64")))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ScoringModel(),
            artifacts={"model": str(model_dir)},
            signature=signature,
            input_example=example,
            registered_model_name=spec.name,
        )
        version = str(info.registered_model_version)
        return RegisteredVersion(spec.name, version, run.info.run_id, f"models:/{spec.name}/{version}")


def git_commit() -> str:
    """Return the repository's HEAD commit, or 'unknown' outside a git checkout."""
    try:
        completed = subprocess.run(
            ["git", "-C", str(REPOSITORY), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def _write_report(outcome: TrainingOutcome, directory: Path) -> tuple[Path, Path]:
    import pandas as pd

    from traider.backtest.report import write_report
    from traider.backtest.run import BacktestRun, round_trips
    from traider.backtest.vectorised import VectorisedResult

    tests = [result.test for result in outcome.folds]
    scale = outcome.oos_equity.reindex(pd.concat([test.equity for test in tests]).index) / pd.concat(
        [test.equity for test in tests]
    )
    units = pd.concat([test.units for test in tests]) * scale
    path = VectorisedResult(
        equity=outcome.oos_equity,
        units=units,
        exposure=pd.concat([test.exposure for test in tests]),
        trades=pd.concat([test.trades for test in tests], ignore_index=True),
        fees_paid=sum(test.fees_paid for test in tests),
        slippage_paid=sum(test.slippage_paid for test in tests),
    )
    bars = pd.DataFrame({"close": outcome.oos_equity * 0.0 + 1.0}, index=outcome.oos_equity.index)
    run = BacktestRun(
        f"{outcome.spec.name} (out of sample, {len(tests)} folds)",
        bars,
        pd.concat([result.test_targets for result in outcome.folds]),
        path,
        outcome.oos_performance,
        round_trips(path),
        None,
    )
    return write_report(run, outcome.spec.name, directory)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, list) else value
    return flat


def _finite(value: float) -> float:
    import math

    return value if math.isfinite(value) else 0.0
