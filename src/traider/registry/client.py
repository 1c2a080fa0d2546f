"""Reaching the MLflow tracking server: health, credentials, and a client checked first (one-line errors)."""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from traider.config import Settings
from traider.registry.errors import MlflowServerError

if TYPE_CHECKING:
    from mlflow import MlflowClient


def registry_client(settings: Settings) -> MlflowClient:
    """Return a client on `settings.mlflow_uri` after one authenticated call succeeded.

    Credentials come from MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, as for every MLflow client.
    """
    from mlflow import MlflowClient

    uri = settings.mlflow_uri
    check_credentials(uri, os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD"))
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def is_healthy(tracking_uri: str, *, timeout_s: float = 2.0) -> bool:
    """Return True when `GET /health` answers 200 (it needs no credentials)."""
    try:
        with urllib.request.urlopen(f"{tracking_uri.rstrip('/')}/health", timeout=timeout_s) as response:
            return int(response.status) == 200
    except (OSError, ValueError):
        return False


def check_credentials(tracking_uri: str, username: str | None, password: str | None) -> None:
    """Make one authenticated API call; raise a one-line MlflowServerError if it is refused."""
    request = urllib.request.Request(
        f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/registered-models/search?max_results=1"
    )
    if username and password:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10):
            return
    except urllib.error.HTTPError as error:
        if error.code == 401 and not (username and password):
            raise MlflowServerError(
                f"the MLflow server at {tracking_uri} needs credentials (HTTP 401): set both MLFLOW_TRACKING_USERNAME "
                "(the local server's admin is `admin` unless it was first started with another) and "
                "MLFLOW_TRACKING_PASSWORD"
            ) from error
        if error.code in (401, 403):
            raise MlflowServerError(
                f"the MLflow server at {tracking_uri} refused the credentials (HTTP {error.code}): set "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to the admin's (the password it was "
                "first started with)"
            ) from error
        raise MlflowServerError(f"the MLflow server at {tracking_uri} answered HTTP {error.code}") from error
    except OSError as error:
        raise MlflowServerError(
            f"the MLflow server at {tracking_uri} does not answer ({error}); start it with `traider mlflow up`"
        ) from error
