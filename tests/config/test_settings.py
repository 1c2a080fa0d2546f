from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from traider.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_settings_without_environment_use_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAIDER_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.uses_embedded_database
    assert settings.embedded_pgdata == settings.home / "pg"


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAIDER_DATABASE_URL", "postgresql://a:b@h:1/d")
    monkeypatch.setenv("TRAIDER_BULK_BATCH_ROWS", "1234")
    settings = Settings()
    assert not settings.uses_embedded_database
    assert settings.bulk_batch_rows == 1234


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.bulk_batch_rows = 5  # type: ignore[misc]


def test_settings_never_show_the_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAIDER_DATABASE_URL", "postgresql://trader:hunter2@db:5432/traider")
    settings = Settings()
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


def test_settings_reject_invalid_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAIDER_BULK_BATCH_ROWS", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_readme_documents_every_setting_with_its_default() -> None:
    readme = README.read_text()
    documented = set(re.findall(r"`(TRAIDER_[A-Z0-9_]+)`", readme))
    for name, field in Settings.model_fields.items():
        variable = f"TRAIDER_{name.upper()}"
        assert variable in documented, f"{variable} is missing from the README's configuration table"
        row = next(line for line in readme.splitlines() if f"`{variable}`" in line and line.startswith("|"))
        default = field.default
        shown = "unset" if default is None else str(default)
        assert shown.replace("_", "").lower() in row.replace(",", "").replace("_", "").lower(), (
            f"README row for {variable} does not show its default {shown!r}"
        )
