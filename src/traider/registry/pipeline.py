"""What the gate DAG's tasks call: list the versions waiting for the gate, and gate one of them.

Both read the settings and MLFLOW_TRACKING_* credentials from the environment. The champion evaluator is
`traider.ml.evaluation.champion_evaluator(tracking_uri)` when the training side provides it, otherwise
the run-metric evaluator (see `traider.registry.evaluation`).
"""

from __future__ import annotations

from typing import Any

from traider.config import get_settings
from traider.registry.aliases import apply_gate
from traider.registry.client import registry_client
from traider.registry.evaluation import champion_evaluator
from traider.registry.versions import undecided_versions


def pending_candidates(models: list[str] | None = None) -> list[dict[str, str]]:
    """Return `{"name", "version"}` of every version of `models` (all models when empty) not yet gated."""
    client = registry_client(get_settings())
    return [{"name": name, "version": version} for name, version in undecided_versions(client, models or None)]


def gate_candidate(name: str, version: str) -> dict[str, Any]:
    """Apply the gate to one version and return the decision as JSON-safe data."""
    from traider.db.engine import application_engine
    from traider.db.migrate import require_current_schema

    settings = get_settings()
    client = registry_client(settings)
    engine = application_engine(settings)
    try:
        with engine.connect() as connection:
            require_current_schema(connection)
        evaluator = champion_evaluator(client, settings.mlflow_uri)
        stored = apply_gate(client, engine, name, version, evaluator)
    finally:
        engine.dispose()
    return {
        "name": stored.model_name,
        "version": str(stored.version),
        "decision": str(stored.decision),
        "alias": stored.alias,
        "previous_version": stored.previous_version,
        "reasons": list(stored.reasons),
    }
