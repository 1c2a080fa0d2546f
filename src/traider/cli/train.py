"""`traider train`: train model specs from `models/*.yaml` on the feature mart and register them in MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from traider.cli.context import console, load_settings
from traider.errors import ConfigurationError


def train(
    spec: Annotated[
        list[str] | None, typer.Option("--spec", help="Spec name (file name in models/ without .yaml); repeatable.")
    ] = None,
    all_specs: Annotated[bool, typer.Option("--all", help="Train every spec in the models directory.")] = False,
    models: Annotated[Path, typer.Option("--models", help="Directory of model specs.")] = Path("models"),
    tracking_uri: Annotated[
        str, typer.Option("--tracking-uri", help="MLflow tracking server (default: the configured one).")
    ] = "",
) -> None:
    """Train specs with purged walk-forward CV and fee-aware backtests, log them to MLflow, register versions.

    Reads each spec's rows of features.training_set (built by the build_features DAG from quality-checked
    data). The gate decides later which version takes the alias `production`.
    """
    from traider.ml.pipeline import train_and_register
    from traider.ml.spec import load_specs

    load_settings()
    if not models.is_dir():
        raise ConfigurationError(f"--models {models} is not a directory of model specs")
    known = load_specs(models)
    names = list(known) if all_specs else list(spec or [])
    if not names:
        raise ConfigurationError(f"name a --spec or pass --all; specs in {models}: {', '.join(known)}")
    for name in names:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(f"{name}: loading", total=None)

            def step(text: str, name: str = name, task: TaskID = task, bar: Progress = bar) -> None:
                bar.update(task, description=f"{name}: {text}")

            summary = train_and_register(name, specs_directory=models, tracking_uri=tracking_uri or None, step=step)
        console.print(
            f"{name}: version {summary['version']} registered; out of sample Sharpe {summary['oos_sharpe']:.2f}, "
            f"max drawdown {summary['oos_max_drawdown']:.2%}, deflated Sharpe probability "
            f"{summary['dsr_probability']:.3f}, look-ahead {'clean' if summary['lookahead_clean'] else 'FLAGGED'}"
        )
