"""Read-only questions to the MLflow registry: aliases, versions, the gate's evidence, undecided candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from traider.registry.errors import RegistryError
from traider.registry.gate import Evidence, Thresholds, evidence_from_run, thresholds_from_tags

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

DECISION_TAG = "gate.decision"


@dataclass(frozen=True)
class Candidate:
    """What the gate reads about a version: its run, evidence, thresholds and problems found reading them."""

    version: str
    run_id: str | None
    evidence: Evidence
    thresholds: Thresholds
    problems: tuple[str, ...]


def read_candidate(client: MlflowClient, name: str, version: str) -> Candidate:
    """Read a version's evidence and thresholds from the metrics, tags and params of its MLflow run."""
    found = model_version(client, name, version)
    if not found.run_id:
        problem = "the version has no MLflow run: the gate reads its evidence from the run"
        return Candidate(version, None, Evidence(None, None, None, None, None, None), Thresholds(), (problem,))
    data = client.get_run(found.run_id).data
    values = {**data.params, **data.tags}
    evidence, evidence_problems = evidence_from_run(data.metrics, values)
    thresholds, threshold_problems = thresholds_from_tags(values)
    return Candidate(version, found.run_id, evidence, thresholds, evidence_problems + threshold_problems)


def undecided_versions(client: MlflowClient, names: list[str] | None = None) -> list[tuple[str, str]]:
    """Return (name, version) of every version without a `gate.decision` tag, by name and version number."""
    found: list[tuple[str, str]] = []
    for name in names if names else registered_model_names(client):
        found.extend((name, str(each.version)) for each in all_versions(client, name) if DECISION_TAG not in each.tags)
    return sorted(found, key=lambda item: (item[0], int(item[1])))


def registered_model_names(client: MlflowClient) -> list[str]:
    """Return the names of every registered model, sorted."""
    names: list[str] = []
    token: str | None = None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        names.extend(model.name for model in page)
        token = page.token
        if not token:
            return sorted(names)


def aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """Return a registered model's aliases (alias → version); a one-line error if the model does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return dict(client.get_registered_model(name).aliases)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(f"there is no registered model {name!r}; `traider model status` lists them") from error
        raise


def model_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    """Return one version; a one-line error if it does not exist."""
    from mlflow.exceptions import MlflowException

    if not version.isdigit():
        raise RegistryError(f"{version!r} is not a version number")
    try:
        return client.get_model_version(name, version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(f"{name} has no version {version}; `traider model status {name}` lists them") from error
        raise


def all_versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    """Return every version of a registered model."""
    quoted = name.replace("\\", "\\\\").replace("'", "\\'")
    versions: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = client.search_model_versions(filter_string=f"name = '{quoted}'", max_results=1000, page_token=token)
        versions.extend(page)
        token = page.token
        if not token:
            return versions
