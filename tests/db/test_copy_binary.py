"""The numpy binary COPY encoder: exact bytes, and round trips through a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL

from tests.postgres import connect
from traider.db.copy_binary import HEADER, TRAILER, EncodingError, canonical_type, encode

UTC = dt.UTC


@pytest.fixture
def db(database_url: URL) -> Iterator[psycopg.Connection]:
    connection = connect(database_url, role="traider_app")
    connection.execute("SET TIME ZONE 'UTC'")
    yield connection
    connection.rollback()
    connection.close()


def _round_trip(
    connection: psycopg.Connection, columns: Sequence[object], types: Sequence[str]
) -> list[tuple[object, ...]]:
    """COPY the encoded columns into a fresh temp table and return its rows in insertion order."""
    connection.execute("DROP TABLE IF EXISTS pg_temp.roundtrip")
    definition = ", ".join(f"c{i} {type_name}" for i, type_name in enumerate(types))
    connection.execute(f"CREATE TEMP TABLE roundtrip (n serial, {definition})")
    names = ", ".join(f"c{i}" for i in range(len(types)))
    payload = encode(columns, types)
    with connection.cursor() as cursor, cursor.copy(f"COPY roundtrip ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(memoryview(payload))
    return [row[1:] for row in connection.execute("SELECT * FROM roundtrip ORDER BY n").fetchall()]


def test_encode_single_int4_row_is_byte_exact() -> None:
    payload = encode([np.array([258], dtype=np.int64)], ["int4"])
    expected = HEADER + b"\x00\x01" + b"\x00\x00\x00\x04" + b"\x00\x00\x01\x02" + TRAILER
    assert bytes(payload) == expected


def test_encode_null_and_text_are_byte_exact() -> None:
    payload = encode([np.array(["é", None], dtype=object), np.array([1.5, None], dtype=object)], ["text", "float8"])
    row1 = b"\x00\x02" + b"\x00\x00\x00\x02" + "é".encode() + b"\x00\x00\x00\x08" + np.array(1.5, ">f8").tobytes()
    row2 = b"\x00\x02" + b"\xff\xff\xff\xff" + b"\xff\xff\xff\xff"
    assert bytes(payload) == HEADER + row1 + row2 + TRAILER


def test_encode_no_rows_is_header_and_trailer() -> None:
    assert bytes(encode([np.array([], dtype=np.float64)], ["float8"])) == HEADER + TRAILER


def test_canonical_type_accepts_aliases_and_typmods() -> None:
    assert canonical_type("double precision") == "float8"
    assert canonical_type("character varying(20)") == "varchar"
    assert canonical_type("timestamp(3) with time zone") == "timestamptz"
    assert canonical_type("numeric") is None


def test_encode_every_type_with_nulls_round_trips(db: psycopg.Connection) -> None:
    stamps = [dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None, dt.datetime(2024, 2, 29, tzinfo=UTC)]
    columns: list[object] = [
        np.array([1.25, None, -0.0], dtype=object),
        np.ma.masked_array(np.array([1.5, 2.5, -3.5], dtype=np.float32), mask=[False, True, False]),
        pd.array([2**62, None, -(2**62)], dtype="Int64"),
        pd.Series([2**31 - 1, None, -(2**31)], dtype="Int64"),
        np.array([32767, None, -32768], dtype=object),
        pd.array([True, None, False], dtype="boolean"),
        pd.Series(["plain", None, ""], dtype="str"),
        np.array(["short", None, "v"], dtype=object),
        pd.Series(stamps, dtype="datetime64[us, UTC]"),
        np.array(["1970-01-01T00:00:00", "NaT", "2262-04-11T23:47:16"], dtype="datetime64[s]"),
    ]
    types = ["float8", "float4", "int8", "int4", "int2", "bool", "text", "varchar(10)", "timestamptz", "timestamp"]
    rows = _round_trip(db, columns, types)
    assert rows[0] == (
        1.25, 1.5, 2**62, 2**31 - 1, 32767, True, "plain", "short", stamps[0], dt.datetime(1970, 1, 1)
    )  # fmt: skip
    assert rows[1] == (None,) * 10
    assert rows[2][:8] == (-0.0, -3.5, -(2**62), -(2**31), -32768, False, "", "v")
    assert math.copysign(1.0, rows[2][0]) == -1.0  # type: ignore[arg-type]
    assert rows[2][8:] == (stamps[2], dt.datetime(2262, 4, 11, 23, 47, 16))


def test_encode_keeps_nan_and_infinity_as_values(db: psycopg.Connection) -> None:
    values = np.array([np.nan, np.inf, -np.inf])
    rows = _round_trip(db, [values, values.astype(np.float32), pd.Series(values)], ["float8", "float4", "float8"])
    assert all(isinstance(value, float) and math.isnan(value) for value in rows[0])
    assert rows[1:] == [(math.inf,) * 3, (-math.inf,) * 3]


def test_encode_unicode_text_round_trips(db: psycopg.Connection) -> None:
    words = ["日本語", "emoji 🚀📈", "Zürich", "", "tab\tnew\nline\\slash", "ascii", "日本語", "Ωμέγα"]
    series = pd.Series(words * 3, dtype="str")
    rows = _round_trip(db, [series, np.array(words * 3, dtype=object)], ["text", "varchar"])
    assert [row[0] for row in rows] == words * 3
    assert [row[1] for row in rows] == words * 3


def test_encode_timestamps_of_every_unit_and_zone_round_trip(db: psycopg.Connection) -> None:
    moments = ["1970-01-01T00:00:00", "1999-12-31T23:59:59", "2000-01-01T00:00:00", "2024-07-15T12:34:56"]
    expected = [dt.datetime.fromisoformat(m).replace(tzinfo=UTC) for m in moments]
    columns: list[object] = [np.array(moments, dtype=f"datetime64[{unit}]") for unit in ("s", "ms", "us", "ns")]
    berlin = pd.Series(pd.to_datetime(moments)).dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    columns += [berlin, pd.Series(pd.to_datetime(moments), dtype="datetime64[ns]"), [e for e in expected]]
    columns.append(np.array(["1999-12-31", "2000-01-01", "1969-12-31", "2024-02-29"], dtype="datetime64[D]"))
    rows = _round_trip(db, columns, ["timestamptz"] * 8)
    for i, row in enumerate(rows):
        assert row[:7] == (expected[i],) * 7
    assert [row[7] for row in rows] == [
        dt.datetime(1999, 12, 31, tzinfo=UTC),
        dt.datetime(2000, 1, 1, tzinfo=UTC),
        dt.datetime(1969, 12, 31, tzinfo=UTC),
        dt.datetime(2024, 2, 29, tzinfo=UTC),
    ]


def test_encode_floors_nanoseconds_to_microseconds(db: psycopg.Connection) -> None:
    values = np.array(["1999-12-31T23:59:59.999999999", "2001-01-01T00:00:00.000000500"], dtype="datetime64[ns]")
    rows = _round_trip(db, [values], ["timestamptz"])
    assert [row[0] for row in rows] == [
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2001, 1, 1, tzinfo=UTC),
    ]


def test_encode_text_of_many_lengths_and_nulls_round_trips(db: psycopg.Connection) -> None:
    rng = np.random.default_rng(7)
    pool = np.array(["", "a", "bb", "ccc", "dddd", "ü" * 5, None, "x" * 300], dtype=object)
    values = pool[rng.integers(0, len(pool), 5_000)]
    ids = np.arange(5_000)
    rows = _round_trip(db, [ids, values, pd.Series(values, dtype="str")], ["int8", "text", "text"])
    assert [row[1] for row in rows] == values.tolist()
    assert [row[2] for row in rows] == values.tolist()


@pytest.mark.parametrize(
    ("values", "type_name", "message"),
    [
        (np.array([1.5]), "int8", "non-integral"),
        (np.array([40_000]), "int2", "outside"),
        (np.array([1, "x"], dtype=object), "text", "text column holds a int"),
        (np.array(["a"]), "float8", "float8 column holds <U1 values"),
        (np.array([1.0]), "numeric", "not supported"),
    ],
)
def test_encode_rejects_values_it_cannot_send(values: object, type_name: str, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        encode([values], [type_name], names=["price"])


def test_encode_rejects_columns_of_different_lengths() -> None:
    with pytest.raises(EncodingError, match="differ in length"):
        encode([np.zeros(3), np.zeros(2)], ["float8", "float8"])


@pytest.mark.slow
def test_encode_million_ohlcv_rows_has_exact_binary_size() -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    symbols = np.array(["BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT", "XRP/USDT"])
    frame = pd.DataFrame(
        {
            "venue": pd.Series(["binance"] * n, dtype="str"),
            "symbol": pd.Series(np.repeat(symbols, n // len(symbols)), dtype="str"),
            "timeframe": pd.Series(["1m"] * n, dtype="str"),
            "ts": pd.Series(np.datetime64("2024-01-01", "ns") + np.arange(n) * np.timedelta64(1, "m")),
        }
        | {name: rng.random(n) for name in ("open", "high", "low", "close", "volume")}
    )
    types = ["text", "text", "text", "timestamptz"] + ["float8"] * 5
    payload = encode([frame[name] for name in frame.columns], types)
    # per row: field count 2, venue 4+7, symbol 4+8 (DOGE/USDT: 4+9), timeframe 4+2, six 8-byte fields 6*12
    assert len(payload) == len(HEADER) + n * 103 + n // 5 + len(TRAILER)


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
moments = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(UTC))
rows_strategy = st.lists(
    st.tuples(
        st.none() | floats,
        st.none() | st.integers(-(2**63), 2**63 - 1),
        st.none() | st.integers(-(2**15), 2**15 - 1),
        st.none() | texts,
        st.none() | moments,
        st.none() | st.booleans(),
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy)
def test_encode_arbitrary_rows_read_back_equal(db: psycopg.Connection, rows: list[tuple[object, ...]]) -> None:
    columns = [np.array([row[i] for row in rows], dtype=object) for i in range(6)]
    types = ["float8", "int8", "int2", "text", "timestamptz", "bool"]
    stored = _round_trip(db, columns, types)
    assert len(stored) == len(rows)
    for got, sent in zip(stored, rows, strict=True):
        number, *rest = sent
        if isinstance(number, float) and math.isnan(number):
            assert isinstance(got[0], float) and math.isnan(got[0])
        else:
            assert got[0] == number
        assert list(got[1:]) == rest


def test_encode_tz_aware_python_datetimes_in_other_zones_round_trip(db: psycopg.Connection) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    values = [dt.datetime(2000, 1, 1, 9, tzinfo=tokyo), None]
    rows = _round_trip(db, [np.array(values, dtype=object)], ["timestamptz"])
    assert [row[0] for row in rows] == [dt.datetime(2000, 1, 1, tzinfo=UTC), None]
