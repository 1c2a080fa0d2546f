"""The embedded PostgreSQL server: a real server of the project's own, from the `pgserver` package.

It listens on a Unix socket only, keeps its data in `$TRAIDER_HOME/pg` and keeps running after the
process that started it exits, so later commands reuse it; `stop` shuts it down.
"""

from __future__ import annotations

import atexit
import subprocess
import warnings
from pathlib import Path
from typing import Any

from traider.errors import TraiderError

EMBEDDED_DATABASE = "traider"


def start(pgdata: Path) -> str:
    """Start the embedded server (or attach to the running one) and return the URI of its database."""
    pgserver = pgserver_module()
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_stopped_handle(pgserver, pgdata)
    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        log = pgdata / "log"
        raise TraiderError(f"the embedded PostgreSQL server in {pgdata} did not start ({error}); see {log}") from error
    _create_database_once(str(server.get_uri()))
    return str(server.get_uri(database=EMBEDDED_DATABASE))


def running_uri(pgdata: Path) -> str | None:
    """Return the URI of the embedded server if it is running, without starting it."""
    pgserver_module()
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata.expanduser().resolve())
    if info is None or not info.is_running():
        return None
    return str(info.get_uri(database=EMBEDDED_DATABASE))


def stop(pgdata: Path) -> bool:
    """Stop the embedded server; return False when it was not running."""
    pgserver = pgserver_module()
    from pgserver.utils import PostmasterInfo

    pgdata = pgdata.expanduser().resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user())
    return True


def bin_dir() -> Path:
    """Return the directory holding the embedded server's binaries (psql, pg_ctl, …)."""
    pgserver_module()
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _system_user() -> str | None:
    import os

    return "pgserver" if os.geteuid() == 0 else None


def pgserver_module() -> Any:
    """Import and return the pgserver package, without its warning about XDG_RUNTIME_DIR."""
    # pgserver warns at import time when XDG_RUNTIME_DIR is unset; its fallback is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def _forget_stopped_handle(pgserver: Any, pgdata: Path) -> None:
    # pgserver caches one handle per data directory per process and would hand back the handle of a
    # server stopped since; drop it (and its exit hook) so the server is started again.
    cached = pgserver.PostgresServer._instances.get(pgdata)
    if cached is not None and running_uri(pgdata) is None:
        atexit.unregister(cached._cleanup)
        del pgserver.PostgresServer._instances[pgdata]


def _create_database_once(admin_uri: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)).fetchone()
        if exists is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EMBEDDED_DATABASE)))
