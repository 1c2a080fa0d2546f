"""Which model versions are in production and challenging, from MLflow when it answers, else from the history.

The registry's aliases live in MLflow; `ops.model_decisions` records every move of them (gate decisions, manual
promotions, rollbacks), so when MLflow is down the same answer is replayed from there: `production` by
`decisions.production_lineage` (what rollback walks), `challenger` as the latest version given that alias and not
promoted since. Links go into the MLflow UI (model version and training run pages).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from traider.registry import decisions
from traider.registry.decisions import CHALLENGER, PRODUCTION, DecisionRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from traider.config import Settings

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRow:
    """One registered model as the dashboard shows it."""

    name: str
    production: str | None
    challenger: str | None
    previous_champion: int | None
    last_decision: DecisionRecord | None
    versions: int | None = None  # known only from MLflow
    waiting: tuple[str, ...] = ()  # versions the gate has not judged (from MLflow)


@dataclass(frozen=True)
class RegistryView:
    """The models and where their aliases were read: `mlflow` or `ops.model_decisions` (with the reason)."""

    models: tuple[ModelRow, ...]
    source: str
    note: str = ""


def version_url(tracking_uri: str, name: str, version: str | int) -> str:
    """Return the MLflow UI page of a model version."""
    return f"{tracking_uri.rstrip('/')}/#/models/{quote(name, safe='')}/versions/{version}"


def run_url(tracking_uri: str, run_id: str) -> str:
    """Return the MLflow UI page of a run (MLflow redirects it to the run's experiment)."""
    return f"{tracking_uri.rstrip('/')}/#/runs/{quote(run_id, safe='')}"


def model_url(tracking_uri: str, name: str) -> str:
    """Return the MLflow UI page of a registered model."""
    return f"{tracking_uri.rstrip('/')}/#/models/{quote(name, safe='')}"


def aliases_from_history(history: Sequence[DecisionRecord]) -> tuple[int | None, int | None]:
    """Return (production, challenger) versions replayed from a model's decisions, oldest first."""
    lineage = decisions.production_lineage(history)
    production = lineage[-1] if lineage else None
    challenger: int | None = None
    for decision in history:
        if decision.alias == CHALLENGER:
            challenger = decision.version
        elif decision.alias == PRODUCTION and decision.version == challenger:
            challenger = None  # a champion is no longer its own challenger
    return production, challenger


def from_history(engine: Engine, names: Sequence[str]) -> list[ModelRow]:
    """Return the models' aliases as replayed from `ops.model_decisions`."""
    rows: list[ModelRow] = []
    with engine.connect() as connection:
        for name in names:
            history = decisions.history(connection, name)
            production, challenger = aliases_from_history(history)
            lineage = decisions.production_lineage(history)
            rows.append(
                ModelRow(
                    name=name,
                    production=None if production is None else str(production),
                    challenger=None if challenger is None else str(challenger),
                    previous_champion=lineage[-2] if len(lineage) > 1 else None,
                    last_decision=history[-1] if history else None,
                )
            )
    return rows


def registry_view(engine: Engine, settings: Settings, names: Sequence[str], *, timeout_s: float = 1.0) -> RegistryView:
    """Return the models from MLflow (`traider model status`'s view) when it answers, else from the history."""
    from traider.registry.client import is_healthy

    uri = settings.mlflow_uri
    if not is_healthy(uri, timeout_s=timeout_s):
        return RegistryView(tuple(from_history(engine, names)), "ops.model_decisions", f"MLflow at {uri} not answering")
    try:
        from traider.registry.client import registry_client
        from traider.registry.status import model_status

        statuses = model_status(registry_client(settings), engine, None, recent=1)
    except Exception as error:  # any MLflow failure: fall back to the recorded history
        _log.warning("MLflow registry not readable, showing ops.model_decisions: %s", error)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return RegistryView(tuple(from_history(engine, names)), "ops.model_decisions", reason)
    rows = [
        ModelRow(
            name=status.name,
            production=status.production,
            challenger=status.challenger,
            previous_champion=status.previous_champion,
            last_decision=status.recent[-1] if status.recent else None,
            versions=status.versions,
            waiting=status.undecided,
        )
        for status in statuses
    ]
    return RegistryView(tuple(rows), "mlflow")
