"""Secrets a local platform generates for itself once: `$TRAIDER_HOME/secrets/<name>`, owner-only (0600).

Used where a local service needs a password nobody chose (the MLflow admin of `make demo`): never a fixed
default, generated with `secrets.token_urlsafe`, shown once by the caller when created, reused afterwards.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def generated_secret(home: Path, name: str, *, length: int = 24) -> tuple[str, bool]:
    """Return the secret `name` under `home/secrets` and whether it was created now."""
    directory = home / "secrets"
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = directory / name
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value, False
    value = secrets.token_urlsafe(length)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
    path.chmod(0o600)
    return value, True
