"""SQLAlchemy engines for the application (least-privilege role) and for administration."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL

from traider.config import Settings
from traider.db.url import check_reachable, resolve_database_url
from traider.errors import ConfigurationError


def make_engine(url: URL, *, role: str | None = None, connect_timeout_s: int = 5) -> Engine:
    """Create an engine on `url`; with `role`, every connection runs `SET ROLE role` first."""
    engine = create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout_s},
    )
    if role:
        _switch_role_on_connect(engine, role)
    return engine


def application_engine(settings: Settings) -> Engine:
    """Return an engine for application work, running as the configured least-privilege role."""
    url = resolve_database_url(settings)
    check_reachable(url, timeout_s=settings.database_connect_timeout_s)
    return make_engine(
        url, role=settings.database_app_role or None, connect_timeout_s=settings.database_connect_timeout_s
    )


def admin_engine(settings: Settings) -> Engine:
    """Return an engine as the login role, for migrations and administration."""
    url = resolve_database_url(settings)
    check_reachable(url, timeout_s=settings.database_connect_timeout_s)
    return make_engine(url, connect_timeout_s=settings.database_connect_timeout_s)


def _switch_role_on_connect(engine: Engine, role: str) -> None:
    import psycopg
    from psycopg import sql

    statement = sql.SQL("SET ROLE {}").format(sql.Identifier(role))

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_connection: Any, _record: Any) -> None:
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(statement)
            dbapi_connection.commit()
        except psycopg.Error as error:
            dbapi_connection.rollback()
            raise ConfigurationError(
                f"TRAIDER_DATABASE_APP_ROLE: cannot switch to role {role!r} ({str(error).strip().splitlines()[0]}); "
                "run `traider db migrate` first, or grant the role to the login user"
            ) from error
