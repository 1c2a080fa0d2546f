"""The process's Great Expectations context and its PostgreSQL data source.

One ephemeral GX context per TRAIDER home, created on first use: suites are rebuilt from
`expectations/` on every run, so only what outlives a process is on disk under the home:
`gx/expectations` and `gx/validations` (the stores the Data Docs are rendered from, so every task's
results stay listed) and `data_docs/` (the HTML site). Checkpoints, validation definitions and data
sources stay in memory.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from traider.errors import ConfigurationError

if TYPE_CHECKING:
    from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext
    from great_expectations.datasource.fluent.postgres_datasource import PostgresDatasource

DOCS_SITE = "traider"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def docs_directory(home: Path) -> Path:
    """Return where the Data Docs HTML of `home` is written."""
    return home.resolve() / "data_docs"


@lru_cache(maxsize=4)
def quality_context(home: Path) -> EphemeralDataContext:
    """Return the GX context whose result stores and Data Docs live under `home` (one per process)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    root = home.resolve()
    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.expectations_store_name] = _filesystem_store("ExpectationsStore", root / "gx" / "expectations")
    stores[defaults.validation_results_store_name] = _filesystem_store(
        "ValidationResultsStore", root / "gx" / "validations"
    )
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_directory(root)),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def postgres_datasource(
    context: EphemeralDataContext, engine: Engine, schema: str, *, connect_timeout_s: int
) -> PostgresDatasource:
    """Return the GX data source reading `schema` through `engine`'s server, database, login and current role.

    GX opens its own connections; when `engine` switches role after connecting (as the application
    engine does), GX's connections switch to the same role through the `role` startup option. The
    schema is the connections' `search_path`, which is where GX looks for table assets.
    """
    from great_expectations.datasource.fluent.postgres_datasource import PostgresDatasource

    with engine.connect() as connection:
        roles = connection.execute(text("SELECT current_user, session_user")).one()
    current, session = str(roles[0]), str(roles[1])
    if not _NAME.match(current) or not _NAME.match(schema):
        raise ConfigurationError(f"data quality: cannot pass role {current!r} or schema {schema!r} to GX's connections")
    options = f"-c search_path={schema}" + (f" -c role={current}" if current != session else "")
    connect_args: dict[str, object] = {"connect_timeout": connect_timeout_s, "options": options}
    address = engine.url
    socket = address.query.get("host")
    if address.host is None and socket:  # a Unix socket (the embedded server): GX wants a host in the URL itself
        connect_args["host"] = socket if isinstance(socket, str) else socket[0]
        address = address.difference_update_query(["host"]).set(host="localhost")
    url = address.render_as_string(hide_password=False)
    name = f"{schema}_" + hashlib.sha256(f"{url}\n{options}".encode()).hexdigest()[:12]
    if name in context.data_sources.all():
        existing = context.data_sources.get(name)
        assert isinstance(existing, PostgresDatasource)
        return existing
    datasource = PostgresDatasource(name=name, connection_string=url, kwargs={"connect_args": connect_args})
    return context.data_sources.add_postgres(datasource=datasource)


def _filesystem_store(class_name: str, directory: Path) -> dict[str, object]:
    return {
        "class_name": class_name,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
    }
