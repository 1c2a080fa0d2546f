"""`audit.append_batch`: many events in one call, chained exactly as one insert at a time (migration 0008)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tests.postgres import connect
from traider.audit.chain import append, append_batch, verify
from traider.db import migrate
from traider.db.engine import make_engine

NewDatabase = Callable[..., AbstractContextManager[URL]]
OWNER = "traider_audit_owner"
COLUMNS = "seq, recorded_at, actor, action, subject, payload::text AS payload_text, prev_hash, row_hash"


@pytest.fixture
def chain_db(new_database: NewDatabase) -> Iterator[tuple[URL, Engine]]:
    """A fresh, empty chain and an engine as the application role."""
    with new_database() as url:
        engine = make_engine(url, role="traider_app")
        yield url, engine
        engine.dispose()


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(f"SELECT {COLUMNS} FROM audit.events ORDER BY seq")).all())


def _events(count: int, prefix: str = "e") -> list[tuple[str, str, dict[str, Any]]]:
    return [("fill", f"{prefix}-{n}", {"n": n, "price": 100.5 + n, "note": "naïve | 50% ;:"}) for n in range(count)]


def test_a_batch_extends_the_chain_exactly_like_single_appends(chain_db: tuple[URL, Engine]) -> None:
    _, engine = chain_db
    with engine.begin() as connection:
        append(connection, actor="worker", action="order.new", subject="o-1", payload={"q": 1.5})
        last = append_batch(connection, actor="worker", events=_events(4))
        append(connection, actor="worker", action="order.cancel", subject="o-1")
    with engine.begin() as connection:
        assert append_batch(connection, actor="ops", events=_events(3, "f")) == 9
        report = verify(connection)
        recomputed = connection.execute(
            text(
                "SELECT bool_and(row_hash = encode(sha256(convert_to(audit.canonical_content(seq, recorded_at, actor, "
                "action, subject, payload, prev_hash), 'UTF8')), 'hex')) FROM audit.events"
            )
        ).scalar_one()
    rows = _rows(engine)
    assert last == 5
    assert (report.ok, report.rows_checked) == (True, 9)
    assert recomputed is True
    assert [row.seq for row in rows] == list(range(1, 10))
    assert [(row.actor, row.action, row.subject) for row in rows[1:5]] == [
        ("worker", "fill", f"e-{n}") for n in range(4)
    ]
    assert rows[1].prev_hash == rows[0].row_hash and rows[5].prev_hash == rows[4].row_hash
    assert rows[2].payload_text == '{"n": 1, "note": "naïve | 50% ;:", "price": 101.5}'
    assert [row.recorded_at for row in rows] == sorted(row.recorded_at for row in rows)


def test_the_first_batch_starts_the_chain_at_the_genesis_hash(chain_db: tuple[URL, Engine]) -> None:
    _, engine = chain_db
    with engine.begin() as connection:
        assert append_batch(connection, actor="worker", events=_events(2)) == 2
    rows = _rows(engine)
    assert rows[0].seq == 1 and rows[0].prev_hash == "0" * 64


def test_an_empty_batch_appends_nothing(chain_db: tuple[URL, Engine]) -> None:
    _, engine = chain_db
    with engine.begin() as connection:
        assert append_batch(connection, actor="worker", events=[]) is None
        assert connection.execute(text("SELECT audit.append_batch('worker', '{}', '{}', '{}')")).scalar() is None
    assert _rows(engine) == []


@pytest.mark.parametrize(
    ("actor", "actions", "subjects", "payloads", "error"),
    [
        ("w", "{a,b}", "{s}", '{"{}","{}"}', psycopg.errors.InvalidParameterValue),
        ("w", "{a}", "{s}", '{"{}","{}"}', psycopg.errors.InvalidParameterValue),
        ("w", "{a,NULL}", "{s,t}", '{"{}","{}"}', psycopg.errors.NotNullViolation),
        ("w", "{a,b}", "{s,NULL}", '{"{}","{}"}', psycopg.errors.NotNullViolation),
        ("w", "{a,b}", "{s,t}", '{"{}",NULL}', psycopg.errors.NotNullViolation),
        ("", "{a}", "{s}", '{"{}"}', psycopg.errors.CheckViolation),
        (None, "{a}", "{s}", '{"{}"}', psycopg.errors.NotNullViolation),
    ],
    ids=["fewer-subjects", "more-payloads", "null-action", "null-subject", "null-payload", "empty-actor", "null-actor"],
)
def test_a_malformed_batch_is_refused_whole(
    chain_db: tuple[URL, Engine], actor: str | None, actions: str, subjects: str, payloads: str, error: type
) -> None:
    url, engine = chain_db
    with engine.begin() as connection:
        append(connection, actor="worker", action="order.new", subject="o-1")
    with connect(url, role="traider_app") as connection:
        with pytest.raises(error):
            connection.execute(
                "SELECT audit.append_batch(%s, %s::text[], %s::text[], %s::jsonb[])",
                (actor, actions, subjects, payloads),
            )
        connection.rollback()
    assert [row.seq for row in _rows(engine)] == [1]


def test_callers_cannot_forge_chain_fields_or_skip_the_trigger(chain_db: tuple[URL, Engine]) -> None:
    url, engine = chain_db
    with connect(url, role="traider_app") as connection:
        connection.execute("SELECT audit.append_batch('mallory', '{forge}', '{x}', '{\"{}\"}')")
        # the application role is no member of the owner, whose inserts the trigger trusts
        member = connection.execute("SELECT pg_has_role('traider_app', %s, 'MEMBER')", (OWNER,)).fetchone()
        assert member == (False,)
        connection.execute(
            "INSERT INTO audit.events (seq, recorded_at, actor, action, prev_hash, row_hash) "
            "VALUES (1000, '2001-01-01', 'mallory', 'forge', 'bad', 'bad')"
        )
        connection.commit()
    rows = _rows(engine)
    assert [(row.seq, row.actor) for row in rows] == [(1, "mallory"), (2, "mallory")]
    assert rows[1].prev_hash == rows[0].row_hash and "bad" not in (rows[1].prev_hash, rows[1].row_hash)
    with engine.connect() as connection:
        assert verify(connection).ok


def test_rows_the_trigger_skips_are_still_checked_by_verify(chain_db: tuple[URL, Engine]) -> None:
    """The owner's inserts skip the trigger (the owner could disable it anyway): a forged one still shows."""
    url, engine = chain_db
    with engine.begin() as connection:
        append_batch(connection, actor="worker", events=_events(2))
    with connect(url, role=OWNER) as connection:
        connection.execute(
            "INSERT INTO audit.events (seq, recorded_at, actor, action, prev_hash, row_hash) "
            "VALUES (3, now(), 'mallory', 'forge', 'bad', 'bad')"
        )
        connection.commit()
    with engine.connect() as connection:
        report = verify(connection)
    assert report.first_break is not None and report.first_break.seq == 3


def test_the_function_is_the_owners_and_only_the_application_may_call_it(chain_db: tuple[URL, Engine]) -> None:
    url, _ = chain_db
    with connect(url) as connection:
        row = connection.execute(
            "SELECT pg_get_userbyid(p.proowner), p.prosecdef, array_to_string(p.proconfig, ','), "
            "has_function_privilege('traider_app', p.oid, 'EXECUTE'), "
            "has_function_privilege('public', p.oid, 'EXECUTE') "
            "FROM pg_proc p WHERE p.oid = 'audit.append_batch'::regproc"
        ).fetchone()
    assert row == (OWNER, True, "search_path=pg_catalog, pg_temp", True, False)


def test_concurrent_batches_and_single_appends_form_one_chain(chain_db: tuple[URL, Engine]) -> None:
    _, engine = chain_db
    errors: list[BaseException] = []

    def batches(name: str) -> None:
        try:
            for number in range(15):
                with engine.begin() as connection:
                    append_batch(connection, actor=name, events=_events(7, f"{name}-{number}"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def singles(name: str) -> None:
        try:
            for number in range(25):
                with engine.begin() as connection:
                    append(connection, actor=name, action="tick", payload={"n": number})
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=batches, args=(f"b{index}",)) for index in range(2)]
    threads += [threading.Thread(target=singles, args=(f"s{index}",)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        report = verify(connection)
        runs = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT subject, seq - row_number() OVER (PARTITION BY split_part(subject, '-', 1)"
                " || split_part(subject, '-', 2) ORDER BY seq) AS run FROM audit.events WHERE action = 'fill') r "
                "GROUP BY split_part(subject, '-', 1) || split_part(subject, '-', 2), run"
            )
        ).all()
    assert (report.ok, report.rows_checked) == (True, 2 * 15 * 7 + 2 * 25)
    assert len(runs) == 2 * 15  # each batch's events are contiguous in the chain


def test_downgrade_restores_the_per_row_chain_only(new_database: NewDatabase) -> None:
    with new_database() as url:
        admin = make_engine(url)
        migrate.downgrade(admin, "0007")
        with admin.connect() as connection:
            definition = connection.execute(
                text("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'events_chain'")
            ).scalar_one()
            volatility = connection.execute(
                text("SELECT provolatile FROM pg_proc WHERE proname = 'canonical_content'")
            ).scalar_one()
            batch = connection.execute(text("SELECT to_regproc('audit.append_batch')")).scalar()
        assert "WHEN" not in definition and definition.endswith("FOR EACH ROW EXECUTE FUNCTION audit.chain_event()")
        assert (volatility, batch) == ("i", None)
        app = make_engine(url, role="traider_app")
        with app.begin() as connection:
            append(connection, actor="worker", action="order.new", subject="o-1")
        migrate.upgrade(admin)
        with app.begin() as connection:
            assert append_batch(connection, actor="worker", events=_events(2)) == 3
            append(connection, actor="worker", action="order.cancel", subject="o-1")
            assert verify(connection).rows_checked == 4
            assert verify(connection).ok
        app.dispose()
        admin.dispose()
