"""Configuration: one frozen settings object read from `TRAIDER_*` environment variables."""

from traider.config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
