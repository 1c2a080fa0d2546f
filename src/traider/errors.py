"""Errors the user can act on: each carries a one-line message and the exit code of the CLI."""

from __future__ import annotations


class TraiderError(Exception):
    """An expected failure: the CLI prints its message on one line, without a traceback."""

    exit_code: int = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigurationError(TraiderError):
    """A setting is missing or malformed."""

    exit_code = 2


class DatabaseUnreachableError(TraiderError):
    """The configured PostgreSQL server cannot be reached."""

    exit_code = 2


class SchemaOutOfDateError(TraiderError):
    """The database has not been migrated to the revision the code needs."""

    exit_code = 2
