"""The audit log is append-only for everyone and any edit is found by `verify`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from tests.postgres import connect
from traider.audit import append, verify
from traider.audit.chain import canonical_content
from traider.db.engine import make_engine
from traider.db.url import libpq_dsn

NewDatabase = Callable[..., AbstractContextManager[URL]]
OWNER = "traider_audit_owner"


@pytest.fixture
def audit_db(new_database: NewDatabase) -> Iterator[tuple[URL, Engine]]:
    """A fresh database whose chain holds five events appended by the application role."""
    with new_database() as url:
        engine = make_engine(url, role="traider_app")
        with engine.begin() as connection:
            for number in range(1, 6):
                append(
                    connection,
                    actor="worker",
                    action="order.submitted",
                    subject=f"order-{number}",
                    payload={"quantity": number * 0.1, "note": "naïve | 50% ;:"},
                )
        yield url, engine
        engine.dispose()


def _verify(engine: Engine) -> tuple[bool, int, int | None, str]:
    with engine.connect() as connection:
        report = verify(connection)
    broken = report.first_break
    return report.ok, report.rows_checked, broken.seq if broken else None, broken.reason if broken else ""


def _as_owner_without_triggers(url: URL, statement: str) -> None:
    with connect(url, role=OWNER) as connection:
        connection.execute("ALTER TABLE audit.events DISABLE TRIGGER USER")
        connection.execute(statement)
        connection.execute("ALTER TABLE audit.events ENABLE TRIGGER USER")
        connection.commit()


def test_verify_intact_chain_checks_every_row(audit_db: tuple[URL, Engine]) -> None:
    _, engine = audit_db
    assert _verify(engine) == (True, 5, None, "")


@pytest.mark.parametrize("statement", ["UPDATE audit.events SET actor = 'x'", "DELETE FROM audit.events",
                                       "TRUNCATE audit.events"])  # fmt: skip
def test_application_role_cannot_change_or_remove_events(audit_db: tuple[URL, Engine], statement: str) -> None:
    url, engine = audit_db
    with connect(url, role="traider_app") as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(statement)
        connection.rollback()
    assert _verify(engine)[:2] == (True, 5)


@pytest.mark.parametrize("role", [OWNER, None], ids=["owner", "superuser"])
@pytest.mark.parametrize("statement", ["UPDATE audit.events SET actor = 'x' WHERE seq = 2",
                                       "DELETE FROM audit.events WHERE seq = 2", "TRUNCATE audit.events"])  # fmt: skip
def test_triggers_reject_changes_even_from_privileged_roles(
    audit_db: tuple[URL, Engine], role: str | None, statement: str
) -> None:
    url, engine = audit_db
    with connect(url, role=role) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute(statement)
        connection.rollback()
    assert _verify(engine)[:2] == (True, 5)


def test_owner_is_a_role_that_cannot_log_in(audit_db: tuple[URL, Engine]) -> None:
    url, _ = audit_db
    with connect(url) as connection:
        owner = connection.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'audit'").fetchone()
        can_login = connection.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (OWNER,)).fetchone()
        privileges = connection.execute(
            "SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) FROM information_schema.role_table_grants "
            "WHERE grantee = 'traider_app' AND table_schema = 'audit' AND table_name = 'events'"
        ).fetchone()
    assert owner == (OWNER,)
    assert can_login == (False,)
    assert privileges == ("INSERT,SELECT",)


def test_verify_finds_row_edited_by_owner_with_triggers_disabled(audit_db: tuple[URL, Engine]) -> None:
    url, engine = audit_db
    _as_owner_without_triggers(url, """UPDATE audit.events SET payload = '{"quantity": 99}' WHERE seq = 3""")
    ok, checked, seq, reason = _verify(engine)
    assert (ok, checked, seq) == (False, 2, 3)
    assert "edited" in reason


def test_verify_finds_edit_whose_hash_was_recomputed_at_next_link(audit_db: tuple[URL, Engine]) -> None:
    url, engine = audit_db
    _as_owner_without_triggers(
        url,
        "UPDATE audit.events SET actor = 'forger', row_hash = encode(sha256(convert_to(audit.canonical_content("
        "seq, recorded_at, 'forger', action, subject, payload, prev_hash), 'UTF8')), 'hex') WHERE seq = 2",
    )
    ok, _, seq, reason = _verify(engine)
    assert (ok, seq) == (False, 3)
    assert "prev_hash" in reason


def test_verify_finds_deleted_row(audit_db: tuple[URL, Engine]) -> None:
    url, engine = audit_db
    _as_owner_without_triggers(url, "DELETE FROM audit.events WHERE seq = 4")
    ok, checked, seq, reason = _verify(engine)
    assert (ok, checked, seq) == (False, 3, 5)
    assert "deleted" in reason


def test_insert_cannot_forge_chain_fields(audit_db: tuple[URL, Engine]) -> None:
    url, engine = audit_db
    with connect(url, role="traider_app") as connection:
        connection.execute(
            "INSERT INTO audit.events (seq, recorded_at, actor, action, prev_hash, row_hash) "
            "VALUES (1000, '2001-01-01', 'mallory', 'forge', 'bad', 'bad')"
        )
        row = connection.execute("SELECT seq, row_hash <> 'bad' FROM audit.events WHERE actor = 'mallory'").fetchone()
        connection.commit()
    assert row == (6, True)
    assert _verify(engine)[:2] == (True, 6)


def test_python_canonical_content_matches_database_rule(audit_db: tuple[URL, Engine]) -> None:
    url, _ = audit_db
    moment = datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)
    arguments = (7, moment, "ops ünïcode", "kill|switch", "a:b;c", '{"x": [1, 2.5, "é"]}', "f" * 64)
    with connect(url) as connection:
        row = connection.execute(
            "SELECT audit.canonical_content(%s, %s, %s, %s, %s, CAST(%s AS jsonb), %s)", arguments
        ).fetchone()
        payload_text = connection.execute("SELECT CAST(%s AS jsonb)::text", (arguments[5],)).fetchone()
    assert row is not None and payload_text is not None
    expected = canonical_content(
        seq=7, recorded_at=moment, actor=arguments[2], action=arguments[3], subject=arguments[4],
        payload_text=payload_text[0], prev_hash=arguments[6],
    )  # fmt: skip
    assert row[0] == expected


def test_concurrent_appends_form_one_chain(audit_db: tuple[URL, Engine]) -> None:
    _, engine = audit_db

    def writer(name: str) -> None:
        for number in range(25):
            with engine.begin() as connection:
                append(connection, actor=name, action="tick", payload={"n": number})

    threads = [threading.Thread(target=writer, args=(f"w{index}",)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _verify(engine)[:2] == (True, 105)


def test_cli_audit_verify_reports_first_broken_link(audit_db: tuple[URL, Engine]) -> None:
    url, _ = audit_db
    environment = {**os.environ, "TRAIDER_DATABASE_URL": libpq_dsn(url)}
    command = [sys.executable, "-m", "traider", "audit", "verify"]
    intact = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert intact.returncode == 0, intact.stderr
    assert "intact: 5 events" in intact.stdout
    _as_owner_without_triggers(url, "UPDATE audit.events SET subject = 'changed' WHERE seq = 2")
    broken = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert broken.returncode == 1
    assert "BROKEN at seq 2" in broken.stdout
