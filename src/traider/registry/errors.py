"""Errors of the model registry and its server: each a one-line message the CLI prints as it is."""

from __future__ import annotations

from traider.errors import TraiderError


class RegistryError(TraiderError):
    """A registry operation cannot be done as asked (unknown model or version, nothing to roll back to…)."""


class NoPreviousChampionError(RegistryError):
    """Rollback was asked for a model whose history holds no earlier champion."""


class HistoryMismatchError(RegistryError):
    """The `production` alias in MLflow does not match the history in `ops.model_decisions`."""


class ChampionNotComparableError(RegistryError):
    """The champion cannot be evaluated on the candidate's out-of-sample window."""


class MlflowServerError(TraiderError):
    """The MLflow tracking server cannot be started, reached or used."""

    exit_code = 2
