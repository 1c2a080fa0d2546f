"""The platform's settings, read once from the environment (`TRAIDER_*`) and frozen.

Every field here is documented in the README's configuration table; a test keeps the two in step.
Secrets are `SecretStr`, so printing or logging the settings never shows them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Frozen settings of one TRAIDER process."""

    model_config = SettingsConfigDict(env_prefix="TRAIDER_", frozen=True, extra="ignore")

    home: Path = Field(
        default=Path(".traider"),
        description="Directory for local state: the embedded PostgreSQL data directory, logs and caches.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the PostgreSQL server to use (postgresql+psycopg://user:pass@host:port/db). "
            "Unset: the embedded server in `$TRAIDER_HOME/pg` is started and used."
        ),
    )
    database_app_role: str = Field(
        default="traider_app",
        description=(
            "Role the application switches to (SET ROLE) after connecting. It may only INSERT and SELECT "
            "the audit log. Empty: keep the login role."
        ),
    )
    database_connect_timeout_s: int = Field(
        default=5, ge=1, description="Seconds to wait for the database server before giving up."
    )
    bulk_batch_rows: int = Field(default=250_000, ge=1, description="Rows per transaction in the bulk writer.")
    exchange_emulator_url: str | None = Field(
        default=None,
        description=(
            "Base URL of the local exchange emulator (http://127.0.0.1:PORT); when set, every ccxt venue "
            "is pointed at it. Unset: the real venues."
        ),
    )
    exchange_stream_emulator_url: str | None = Field(
        default=None,
        description=(
            "Base URL of the local Binance market-stream emulator (http://127.0.0.1:PORT, printed by "
            "`python -m traider.marketdata.emulator --streams`); when set, the worker's live feed streams from it."
        ),
    )
    live_trading: Literal["disabled", "enabled"] = Field(
        default="disabled",
        description=(
            "`enabled` lets the execution worker send real orders through the live ccxt broker (it also needs "
            "the Binance API key and secret). Anything else keeps it on paper."
        ),
    )
    binance_api_key: SecretStr | None = Field(
        default=None, description="Binance API key of the live broker (sent as X-MBX-APIKEY; never logged)."
    )
    binance_api_secret: SecretStr | None = Field(
        default=None, description="Binance API secret the live broker signs its requests with (never logged)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of the command line and services."
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description=(
            "URL of the MLflow tracking server and model registry. Unset: the local server that "
            "`traider mlflow up` starts, http://127.0.0.1:$TRAIDER_MLFLOW_PORT."
        ),
    )
    mlflow_port: int = Field(
        default=5000, ge=1, le=65535, description="Port of the local MLflow server (bound to 127.0.0.1 only)."
    )
    mlflow_database: str = Field(
        default="mlflow",
        pattern=r"^[a-z_][a-z0-9_]{0,50}$",
        description=(
            "Database of MLflow's backend store on TRAIDER's PostgreSQL server (created when missing); "
            "its basic-auth users live in `<name>_auth`."
        ),
    )
    mlflow_auth: bool = Field(
        default=True,
        description=(
            "Run the local MLflow server with basic-auth: no anonymous access, the admin is "
            "MLFLOW_TRACKING_USERNAME with the password MLFLOW_TRACKING_PASSWORD from the environment."
        ),
    )
    mlflow_workers: int = Field(default=2, ge=1, le=32, description="Worker processes of the local MLflow server.")

    @property
    def embedded_pgdata(self) -> Path:
        """Return the data directory of the embedded PostgreSQL server."""
        return self.home / "pg"

    @property
    def mlflow_uri(self) -> str:
        """Return the MLflow tracking (and registry) URI: the configured one or the local server's."""
        return self.mlflow_tracking_uri or f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def uses_embedded_database(self) -> bool:
        """Return True when no external database URL is configured."""
        return self.database_url is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
