"""Fixtures of the platform tests: a DAGs folder holding only the tiny test DAGs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SMOKE_DAGS = Path(__file__).with_name("smoke_dags.py")


@pytest.fixture(scope="module")
def smoke_dags_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary DAGs folder with `traider_smoke` and `traider_smoke_failing` only."""
    folder = tmp_path_factory.mktemp("dags")
    shutil.copy(SMOKE_DAGS, folder / SMOKE_DAGS.name)
    return folder
