"""What every command needs: validated settings, consoles, and one-line errors."""

from __future__ import annotations

from pydantic import ValidationError
from rich.console import Console

from traider.config import Settings, get_settings
from traider.errors import ConfigurationError

console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False)


def load_settings() -> Settings:
    """Return the settings, turning a validation failure into a one-line ConfigurationError."""
    try:
        return get_settings()
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        raise ConfigurationError(
            f"TRAIDER_{field.upper()} is invalid: {first['msg']}; see the configuration table in README.md"
        ) from error
