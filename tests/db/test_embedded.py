from __future__ import annotations

from pathlib import Path

import psycopg

from traider.db import embedded


def test_embedded_server_starts_reuses_data_and_stops(tmp_path: Path) -> None:
    pgdata = tmp_path / "home" / "pg"
    tmp_path.chmod(0o755)
    assert not pgdata.exists()
    uri = embedded.start(pgdata)
    try:
        with psycopg.connect(uri, autocommit=True) as connection:
            version = connection.execute("SHOW server_version_num").fetchone()
            assert version is not None and int(version[0]) >= 150000
            assert connection.execute("SELECT current_database()").fetchone() == ("traider",)
            connection.execute("CREATE TABLE kept (x int)")
            connection.execute("INSERT INTO kept VALUES (42)")
        assert embedded.start(pgdata) == uri
        assert embedded.running_uri(pgdata) == uri
    finally:
        assert embedded.stop(pgdata)
    assert embedded.running_uri(pgdata) is None
    assert not embedded.stop(pgdata)

    uri = embedded.start(pgdata)
    try:
        with psycopg.connect(uri) as connection:
            assert connection.execute("SELECT x FROM kept").fetchone() == (42,)
    finally:
        embedded.stop(pgdata)


def test_embedded_bin_dir_holds_psql() -> None:
    assert (embedded.bin_dir() / "psql").is_file()
