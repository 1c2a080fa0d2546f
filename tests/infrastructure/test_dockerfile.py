"""The image's Dockerfile: hadolint, and the facts the compose file and the Helm chart rely on."""

from __future__ import annotations

import re
import subprocess

from tests.infrastructure.conftest import DOCKERFILE, REPO, tool


def final_stage() -> list[str]:
    lines = DOCKERFILE.read_text().splitlines()
    start = max(index for index, line in enumerate(lines) if line.startswith("FROM "))
    return [line for line in lines[start:] if line and not line.startswith("#")]


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run([tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_python_3_11_slim_and_installs_the_lock_before_the_package() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.MULTILINE)
    lock = text.index("-r requirements.lock")
    package = text.index("pip install --no-deps --no-build-isolation -e .")
    assert lock < package
    # torch==2.13.0+cpu is only on the PyTorch CPU index
    assert "--extra-index-url" in text[: lock + 100]


def test_the_service_user_is_not_root_and_matches_the_charts() -> None:
    stage = final_stage()
    users = [line.split()[1] for line in stage if line.startswith("USER ")]
    assert users == ["${TRAIDER_UID}"]
    assert "ARG TRAIDER_UID=50000" in stage  # the Airflow chart's default uid; the TRAIDER chart's runAsUser
    assert stage[-2:] == ['ENTRYPOINT ["/usr/bin/tini", "--"]', 'CMD ["traider", "--help"]']


def test_no_secret_is_baked_into_the_image() -> None:
    text = DOCKERFILE.read_text()
    assert not re.search(r"^(ENV|ARG)\b.*(PASSWORD|SECRET|TOKEN|DATABASE_URL)", text, re.MULTILINE | re.IGNORECASE)
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in (".git", ".venv", ".traider", "**/.env", "tests"):
        assert pattern in ignored, pattern
    assert "!infrastructure/docker/mlflow_entrypoint.py" in ignored
