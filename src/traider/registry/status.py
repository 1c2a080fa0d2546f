"""Where each registered model stands: who holds `production` and `challenger`, what came before, what waits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from traider.registry import decisions
from traider.registry.decisions import CHALLENGER, PRODUCTION, DecisionRecord
from traider.registry.versions import DECISION_TAG, aliases, all_versions, registered_model_names

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from sqlalchemy import Engine


@dataclass(frozen=True)
class ModelStatus:
    """One registered model: its aliases, previous champion, versions and recent decisions (oldest first)."""

    name: str
    production: str | None
    challenger: str | None
    previous_champion: int | None
    versions: int
    undecided: tuple[str, ...]
    recent: tuple[DecisionRecord, ...]


def model_status(
    client: MlflowClient, engine: Engine, names: list[str] | None = None, *, recent: int = 5
) -> list[ModelStatus]:
    """Return the status of the named models (every registered model when `names` is empty)."""
    statuses: list[ModelStatus] = []
    with engine.connect() as connection:
        for name in names if names else registered_model_names(client):
            held = aliases(client, name)
            versions = all_versions(client, name)
            lineage = decisions.production_lineage(decisions.history(connection, name))
            undecided = sorted((each.version for each in versions if DECISION_TAG not in each.tags), key=int)
            statuses.append(
                ModelStatus(
                    name=name,
                    production=held.get(PRODUCTION),
                    challenger=held.get(CHALLENGER),
                    previous_champion=lineage[-2] if len(lineage) > 1 else None,
                    versions=len(versions),
                    undecided=tuple(str(version) for version in undecided),
                    recent=tuple(decisions.history(connection, name, limit=recent)),
                )
            )
    return statuses
