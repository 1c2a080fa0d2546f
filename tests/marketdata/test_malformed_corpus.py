"""At least 200 malformed records: each quarantined with its reason, valid rows still load, nothing lost."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.marketdata.malformed_corpus import corpus, corpus_size
from traider.marketdata.loader import load_batch
from traider.marketdata.records import Stream
from traider.marketdata.source import Batch
from traider.marketdata.validation import validate


def test_corpus_holds_at_least_200_malformed_records_of_every_stream() -> None:
    assert corpus_size() >= 200
    assert {batch.stream for batch in corpus()} == set(Stream)


def test_validate_gives_each_malformed_record_its_reason() -> None:
    for batch in corpus():
        result = validate(batch.stream, batch.frame, source="corpus")
        assert len(result.valid) == batch.valid_rows, batch.stream
        reasons = [rejection.reason for rejection in result.rejections]
        assert len(reasons) == len(batch.expected_reasons)
        for reason, expected in zip(reasons, batch.expected_reasons, strict=True):
            assert expected in reason, (batch.stream, reason, expected)


def _table_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        counts = {
            stream.table: connection.execute(text(f"SELECT count(*) FROM {stream.table}")).scalar_one()
            for stream in Stream
        }
        counts["ops.quarantine"] = connection.execute(text("SELECT count(*) FROM ops.quarantine")).scalar_one()
    return counts


@pytest.mark.usefixtures("clean_tables")
def test_loading_corpus_accounts_for_every_record_and_is_idempotent(app_engine: Engine) -> None:
    totals = {"rows_in": 0, "loaded": 0, "quarantined": 0}
    for number, corpus_batch in enumerate(corpus()):
        result = load_batch(app_engine, Batch(corpus_batch.stream, corpus_batch.frame, source=f"corpus-{number}"))
        assert result.rows_in == result.loaded + result.quarantined
        assert result.quarantined == len(corpus_batch.expected_reasons)
        for key in totals:
            totals[key] += getattr(result, key)
    first = _table_rows(app_engine)
    assert first["ops.quarantine"] == corpus_size()
    assert sum(first[stream.table] for stream in Stream) == totals["loaded"]
    assert totals["rows_in"] == totals["loaded"] + totals["quarantined"]

    for number, corpus_batch in enumerate(corpus()):
        again = load_batch(app_engine, Batch(corpus_batch.stream, corpus_batch.frame, source=f"corpus-{number}"))
        assert again.inserted == 0
        assert again.already_stored == corpus_batch.valid_rows
    assert _table_rows(app_engine) == first


@pytest.mark.usefixtures("clean_tables")
def test_quarantine_keeps_raw_record_source_and_reason(app_engine: Engine) -> None:
    batch = next(b for b in corpus() if b.stream is Stream.OHLCV)
    load_batch(app_engine, Batch(batch.stream, batch.frame, source="corpus-ohlcv"))
    with app_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT source, table_name, record ->> 'close' FROM ops.quarantine "
                "WHERE reason = 'close is not a number'"
            )
        ).one()
    assert tuple(row) == ("corpus-ohlcv", "market.ohlcv", "one hundred")
