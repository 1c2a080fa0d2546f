"""The dbt connection for the feature build, from TRAIDER's settings: environment variables, never a file.

`dbt/profiles.yml` reads `DBT_TRAIDER_*` variables (the password from `DBT_ENV_SECRET_TRAIDER_PASSWORD`,
which dbt scrubs from its logs); `dbt_environment` derives them from `TRAIDER_DATABASE_URL` or the
embedded server, for the dbt process alone.
"""

from __future__ import annotations

import getpass

from sqlalchemy.engine import URL

from traider.config import Settings
from traider.errors import ConfigurationError

PASSWORD_VARIABLE = "DBT_ENV_SECRET_TRAIDER_PASSWORD"


def dbt_environment(url: URL, settings: Settings, *, threads: int = 4) -> dict[str, str]:
    """Return the environment variables `dbt/profiles.yml` reads to connect to `url` as its login role.

    dbt creates schemas and functions, so it connects as the login role (like migrations); the marts are
    granted to the application role (`TRAIDER_DATABASE_APP_ROLE`, or the login role when that is empty).
    """
    host = url.host or _query(url, "host")
    if not host:
        raise ConfigurationError(
            "TRAIDER_DATABASE_URL names no host or socket directory (?host=...); dbt needs one to connect"
        )
    port = url.port or _query(url, "port") or 5432
    user = url.username or getpass.getuser()
    return {
        "DBT_TRAIDER_HOST": host,
        "DBT_TRAIDER_PORT": str(port),
        "DBT_TRAIDER_USER": user,
        PASSWORD_VARIABLE: url.password or "",
        "DBT_TRAIDER_DBNAME": str(url.database),
        "DBT_TRAIDER_SSLMODE": _query(url, "sslmode") or "prefer",
        "DBT_TRAIDER_THREADS": str(threads),
        "DBT_TRAIDER_CONNECT_TIMEOUT": str(settings.database_connect_timeout_s),
        "DBT_TRAIDER_APP_ROLE": settings.database_app_role or user,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _query(url: URL, name: str) -> str | None:
    value = url.query.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else value[0]
