"""A registry to work in: the session's MLflow server, the application database role, and versions to gate."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from tests.mlflow_server import MlflowTestServer

if TYPE_CHECKING:
    from mlflow import MlflowClient

WINDOW = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
OTHER_WINDOW = (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Registry:
    """The MLflow client and application engine the registry code uses, and helpers to set up versions."""

    client: MlflowClient
    engine: Engine
    admin_engine: Engine
    server: MlflowTestServer

    def new_model(self, prefix: str = "model") -> str:
        """Return a registered model name no other test uses, and register it."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.client.create_registered_model(name)
        return name

    def add_version(
        self,
        name: str,
        *,
        sharpe: float,
        drawdown: float = 0.03,
        dsr: float = 0.99,
        lookahead: str = "true",
        window: tuple[datetime, datetime] = WINDOW,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Log a training run with these out-of-sample results and register a version from it; return its number."""
        experiment = self.client.get_experiment_by_name("traider-registry-tests")
        experiment_id = (
            experiment.experiment_id if experiment else self.client.create_experiment("traider-registry-tests")
        )
        run = self.client.create_run(experiment_id)
        run_id = run.info.run_id
        for key, value in {"oos_sharpe": sharpe, "oos_max_drawdown": drawdown, "dsr_probability": dsr}.items():
            self.client.log_metric(run_id, key, value)
        for key, text_value in {
            "lookahead_clean": lookahead,
            "oos_start": window[0].isoformat(),
            "oos_end": window[1].isoformat(),
            "spec": name,
            **(tags or {}),
        }.items():
            self.client.set_tag(run_id, key, text_value)
        self.client.set_terminated(run_id)
        version = self.client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run_id)
        return str(version.version)

    def aliases(self, name: str) -> dict[str, str]:
        """Return the model's aliases."""
        return dict(self.client.get_registered_model(name).aliases)

    def tags(self, name: str, version: str) -> dict[str, str]:
        """Return a version's tags."""
        return dict(self.client.get_model_version(name, version).tags)

    def decisions(self, name: str) -> list[Any]:
        """Return the model's rows in ops.model_decisions, oldest first."""
        with self.admin_engine.connect() as connection:
            return list(
                connection.execute(
                    text("SELECT * FROM ops.model_decisions WHERE model_name = :name ORDER BY id"), {"name": name}
                )
            )

    def audit_event(self, seq: int) -> Any:
        """Return one audit event."""
        with self.admin_engine.connect() as connection:
            return connection.execute(text("SELECT * FROM audit.events WHERE seq = :seq"), {"seq": seq}).one()
