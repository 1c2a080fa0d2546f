"""Bulk-load rows into a table with binary COPY, idempotently, one transaction per batch.

Each batch is written in one transaction: monthly partitions are created for its time range, then
its rows are binary-COPYed into a staging table with the target's column types and moved with
`INSERT ... SELECT ... ON CONFLICT DO NOTHING`, so loading the same rows twice leaves one copy.
When no stored row can conflict with the batch (a cheap probe of the primary key over the batch's
time range per series), the rows are COPYed straight into the target instead, which lets the server
batch its inserts; a unique violation there (duplicates inside the batch, or a concurrent writer)
rolls back to a savepoint and the batch takes the staging path. Of rows repeated within one batch
the first is kept. A batch that breaks a constraint leaves nothing behind and raises BulkWriteError
naming the table and the constraint; batches committed before it stay.

Columns whose types the vectorised encoder (traider.db.copy_binary) covers are encoded with numpy;
a batch with any other column type (numeric, jsonb, arrays, ...) is sent row by row through
psycopg's text COPY instead. On a connection that is already inside a transaction, each batch is a
savepoint of it and the caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traider.errors import TraiderError

if TYPE_CHECKING:
    import pandas as pd
    import psycopg
    from psycopg import sql
    from sqlalchemy import Connection, Engine

    Target = psycopg.Connection[Any] | Engine | Connection
    Rows = pd.DataFrame | Mapping[str, Any]

COPY_CHUNK_BYTES = 4 << 20
PROBE_MAX_SERIES = 1000
_TIMESTAMP_TYPES = ("timestamptz", "timestamp")
_POSTGRES_EPOCH = dt.datetime(2000, 1, 1)


class BulkWriteError(TraiderError):
    """A bulk write was refused: bad input, or the database rejected a batch (nothing of it was kept)."""

    def __init__(self, message: str, *, table: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.table = table
        self.constraint = constraint


@dataclass(frozen=True)
class BulkResult:
    """What a bulk write did: rows offered, rows inserted, rows skipped as duplicates, batches."""

    table: str
    offered: int = 0
    inserted: int = 0
    skipped: int = 0
    batches: int = 0

    def __add__(self, other: BulkResult) -> BulkResult:
        return BulkResult(
            table=self.table,
            offered=self.offered + other.offered,
            inserted=self.inserted + other.inserted,
            skipped=self.skipped + other.skipped,
            batches=self.batches + other.batches,
        )


@dataclass(frozen=True)
class _Column:
    name: str
    type_name: str  # pg_type.typname, e.g. float8, timestamptz, numeric, _float8
    sql_type: str  # format_type(), e.g. double precision, character varying(20)
    vectorised: bool


@dataclass(frozen=True)
class _Table:
    oid: int
    display: str
    identifier: sql.Identifier
    columns: dict[str, _Column]
    partition_key: str | None
    primary_key: tuple[str, ...]


def write_rows(
    target: Target,
    table: str,
    rows: Rows,
    *,
    batch_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
    direct: bool = True,
) -> BulkResult:
    """Insert `rows` (a DataFrame or a mapping of column name to values) into `table`, skipping duplicates.

    Input is split into batches of `batch_rows` (default: the `bulk_batch_rows` setting), each its
    own transaction; `progress` is called after each batch with the rows written so far. With
    `direct=False` every batch takes the staging path. Raises BulkWriteError for an unknown table or
    column, values that do not fit the column types, or a batch the database rejects.
    """
    from traider.config import get_settings

    size = batch_rows if batch_rows is not None else get_settings().bulk_batch_rows
    if size < 1:
        raise ValueError(f"batch_rows must be at least 1, not {size}")
    columns = _columns_of(rows, table)
    total = _row_count(columns, table)
    with _driver_connection(target) as connection:
        with connection.transaction():  # leave no transaction open that would swallow the batches
            info = _lookup_table(connection, table, list(columns))
        result = BulkResult(table=info.display)
        for start in range(0, total, size):
            stop = min(start + size, total)
            batch = {name: _slice(values, start, stop) for name, values in columns.items()}
            inserted = _write_batch(connection, info, batch, (start, stop), direct=direct)
            result += BulkResult(
                table=info.display,
                offered=stop - start,
                inserted=inserted,
                skipped=stop - start - inserted,
                batches=1,
            )
            if progress is not None:
                progress(stop)
    return result


def _columns_of(rows: Rows, table: str) -> dict[str, Any]:
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        if rows.columns.has_duplicates:
            raise BulkWriteError(f"rows for {table} name a column twice", table=table)
        named = {str(name): rows[name] for name in rows.columns}
    else:
        named = {str(name): values for name, values in rows.items()}
    if not named:
        raise BulkWriteError(f"rows for {table} have no columns", table=table)
    return named


def _row_count(columns: Mapping[str, Any], table: str) -> int:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        raise BulkWriteError(f"columns for {table} differ in length: {lengths}", table=table)
    return next(iter(lengths.values()))


def _slice(values: Any, start: int, stop: int) -> Any:
    import pandas as pd

    if isinstance(values, pd.Series):
        return values.iloc[start:stop]
    return values[start:stop]


@contextmanager
def _driver_connection(target: Target) -> Iterator[psycopg.Connection[Any]]:
    """Yield the psycopg connection behind a psycopg connection, SQLAlchemy Engine or Connection."""
    import psycopg
    from sqlalchemy import Connection, Engine

    if isinstance(target, psycopg.Connection):
        yield target
    elif isinstance(target, Engine):
        with target.connect() as connection:
            yield _driver_of(connection)
    elif isinstance(target, Connection):
        driver = _driver_of(target)
        if target.in_transaction() and driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            driver.execute("SELECT 1")  # open the transaction SQLAlchemy began lazily, so batches nest in it
        yield driver
    else:
        raise TypeError(f"cannot bulk-write through a {type(target).__name__}")


def _driver_of(connection: Connection) -> psycopg.Connection[Any]:
    import psycopg

    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"the SQLAlchemy connection uses {type(driver).__name__}, not psycopg 3")
    return driver


def _lookup_table(connection: psycopg.Connection[Any], table: str, names: Sequence[str]) -> _Table:
    """Read the target's identity, the given columns' types, its partition key and its primary key."""
    from psycopg import sql

    from traider.db import copy_binary

    found = connection.execute(
        "SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass(%s)",
        (table,),
    ).fetchone()
    if found is None:
        raise BulkWriteError(f"table {table} does not exist (or is not visible to this role)", table=table)
    oid, schema, name = found
    display = f"{schema}.{name}"
    catalog = {
        attname: (typname, sql_type, typtype)
        for attname, typname, sql_type, typtype in connection.execute(
            "SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod), t.typtype "
            "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped",
            (oid,),
        )
    }
    columns: dict[str, _Column] = {}
    for column in names:
        if column not in catalog:
            raise BulkWriteError(f"table {display} has no column {column!r}", table=display)
        typname, sql_type, typtype = catalog[column]
        vectorised = typtype == "b" and copy_binary.canonical_type(typname) is not None
        columns[column] = _Column(column, typname, sql_type, vectorised)
    key = connection.execute(
        "SELECT a.attname FROM pg_partitioned_table p "
        "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
        "WHERE p.partrelid = %s AND p.partnatts = 1",
        (oid,),
    ).fetchone()
    primary = connection.execute(
        "SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s AND i.indisprimary",
        (oid,),
    ).fetchone()
    return _Table(
        oid=oid,
        display=display,
        identifier=sql.Identifier(schema, name),
        columns=columns,
        partition_key=key[0] if key else None,
        primary_key=tuple(primary[0]) if primary and primary[0] else (),
    )


def _write_batch(
    connection: psycopg.Connection[Any],
    info: _Table,
    batch: dict[str, Any],
    span: tuple[int, int],
    *,
    direct: bool,
) -> int:
    """Write one batch in one transaction (a savepoint inside the caller's); return the rows inserted."""
    import psycopg

    payload = _encode(connection, info, batch)
    key_micros = _partition_micros(info, batch)
    time_range = None
    if key_micros is not None and len(key_micros[0]):
        time_range = _moment(int(key_micros[0].min())), _moment(int(key_micros[0].max()))
    try:
        with connection.transaction():
            if time_range is not None:
                connection.execute(
                    "SELECT ops.ensure_monthly_partitions(%s::oid::regclass, %s, %s)", (info.oid, *time_range)
                )
            if direct and key_micros is not None and not _may_conflict(connection, info, batch, key_micros):
                try:
                    with connection.transaction():
                        return _copy(connection, info.identifier, info, batch, payload)
                except psycopg.errors.UniqueViolation:
                    pass  # duplicates inside the batch or a concurrent writer: fall back to staging
            return _stage_and_insert(connection, info, batch, payload)
    except (
        psycopg.errors.IntegrityError,
        psycopg.errors.DataError,
        psycopg.errors.ProgrammingError,
        psycopg.errors.RaiseException,  # ensure_monthly_partitions refusing absurd timestamps
    ) as error:
        raise _rejected(info, span, error) from error


def _encode(connection: psycopg.Connection[Any], info: _Table, batch: dict[str, Any]) -> Any:
    """Return the binary COPY stream of the batch, or None when a column needs the row-by-row path."""
    from traider.db import copy_binary

    if not all(info.columns[name].vectorised for name in batch):
        return None
    try:
        return copy_binary.encode(
            list(batch.values()),
            [info.columns[name].type_name for name in batch],
            names=list(batch),
            encoding=connection.info.encoding,
        )
    except copy_binary.EncodingError as error:
        raise BulkWriteError(f"{info.display}: {error}", table=info.display) from error


def _partition_micros(info: _Table, batch: dict[str, Any]) -> tuple[Any, Any] | None:
    """Return the non-NULL values of the batch's timestamp partition key, in microseconds since 2000,
    and the NULL mask (None without NULLs); None when the batch holds no timestamp partition key."""
    from traider.db import copy_binary

    key = info.partition_key
    if key is None or key not in batch or info.columns[key].type_name not in _TIMESTAMP_TYPES:
        return None
    try:
        micros, mask = copy_binary.timestamp_micros(batch[key])
    except (TypeError, ValueError) as error:
        message = f"{info.display}: column {key!r} holds values that are not timestamps"
        raise BulkWriteError(message, table=info.display) from error
    return (micros if mask is None else micros[~mask]), mask


def _may_conflict(
    connection: psycopg.Connection[Any], info: _Table, batch: dict[str, Any], key_micros: tuple[Any, Any]
) -> bool:
    """Return False only when no stored row shares a primary key with the batch (per series time range).

    The primary key must hold the timestamp partition key; the batch's rows are grouped by the other
    key columns and each group's time range is looked up in the target's primary key index.
    """
    import pandas as pd
    from psycopg import sql

    key = info.partition_key
    if key is None or key not in info.primary_key or not set(info.primary_key) <= set(batch):
        return True
    micros, mask = key_micros
    series = [name for name in info.primary_key if name != key]
    keep = slice(None) if mask is None else ~mask
    frame = pd.DataFrame({name: _plain(batch[name])[keep] for name in series} | {key: micros})
    if frame.empty:
        return False
    # Coarsen the grouping (drop trailing key columns such as a trade id) until the probe stays small:
    # a stored row that conflicts still lies in its coarser group's time range, so the answer stays safe.
    while len(series) > 1 and frame.groupby(series, sort=False, observed=True).ngroups > PROBE_MAX_SERIES:
        series = series[:-1]
    if series:
        ranges = frame.groupby(series, sort=False, observed=True)[key].agg(["min", "max"])
        if len(ranges) > PROBE_MAX_SERIES:
            return True
        keys = [ranges.index.get_level_values(i).tolist() for i in range(len(series))]
    else:
        ranges = pd.DataFrame({"min": [frame[key].min()], "max": [frame[key].max()]})
        keys = []
    tz = info.columns[key].type_name == "timestamptz"
    bounds = [[_moment(int(v), tz=tz) for v in ranges[side].tolist()] for side in ("min", "max")]
    aliases = [sql.Identifier(f"k{i}") for i in range(len(series))]
    arrays = [sql.SQL("%s::{}[]").format(sql.SQL(info.columns[name].sql_type)) for name in [*series, key, key]]
    matches = [
        sql.SQL("t.{} = p.{}").format(sql.Identifier(name), alias) for name, alias in zip(series, aliases, strict=True)
    ]
    matches.append(sql.SQL("t.{} BETWEEN p.lo AND p.hi").format(sql.Identifier(key)))
    query = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM unnest({arrays}) AS p({aliases}) "
        "WHERE EXISTS (SELECT 1 FROM {table} t WHERE {matches}))"
    ).format(
        arrays=sql.SQL(", ").join(arrays),
        aliases=sql.SQL(", ").join([*aliases, sql.Identifier("lo"), sql.Identifier("hi")]),
        table=info.identifier,
        matches=sql.SQL(" AND ").join(matches),
    )
    found = connection.execute(query, (*keys, *bounds)).fetchone()
    return bool(found and found[0])


def _plain(values: Any) -> Any:
    """Return a column as an array that boolean masks can index (ndarray or pandas ExtensionArray)."""
    import numpy as np
    import pandas as pd

    if isinstance(values, pd.Series | pd.Index):
        return values.array
    if isinstance(values, np.ndarray | pd.api.extensions.ExtensionArray):
        return values
    return np.asarray(values, dtype=object)


def _moment(micros: int, *, tz: bool = True) -> dt.datetime:
    """Return the datetime `micros` microseconds after 2000-01-01 UTC (naive when `tz` is False)."""
    moment = _POSTGRES_EPOCH + dt.timedelta(microseconds=micros)
    return moment.replace(tzinfo=dt.UTC) if tz else moment


def _stage_and_insert(connection: psycopg.Connection[Any], info: _Table, batch: dict[str, Any], payload: Any) -> int:
    """COPY the batch into a temporary table, move the new rows into the target, return how many."""
    from psycopg import sql

    stage = sql.Identifier("pg_temp", "traider_bulk_stage")
    names = sql.SQL(", ").join(sql.Identifier(name) for name in batch)
    connection.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            stage, names, info.identifier
        )
    )
    _copy(connection, stage, info, batch, payload)
    inserted = connection.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            info.identifier, names, names, stage
        )
    ).rowcount
    connection.execute(sql.SQL("DROP TABLE {}").format(stage))
    return max(inserted, 0)


def _copy(
    connection: psycopg.Connection[Any],
    into: sql.Identifier,
    info: _Table,
    batch: dict[str, Any],
    payload: Any,
) -> int:
    """COPY the batch into `into` (binary when encoded, else row by row as text); return rows copied."""
    from psycopg import sql

    names = sql.SQL(", ").join(sql.Identifier(name) for name in batch)
    options = sql.SQL(" (FORMAT BINARY)" if payload is not None else "")
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(into, names, options)
    with connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            if payload is not None:
                view = memoryview(payload)
                for offset in range(0, len(view), COPY_CHUNK_BYTES):
                    copy.write(view[offset : offset + COPY_CHUNK_BYTES])
            else:
                columns = [_python_values(values, info.columns[name]) for name, values in batch.items()]
                for row in zip(*columns, strict=True):
                    copy.write_row(row)
        return cursor.rowcount


def _python_values(values: Any, column: _Column) -> list[Any]:
    """Return a column as Python objects for text COPY: NULLs as None, NaN kept, JSON wrapped."""
    import numpy as np
    import pandas as pd
    from psycopg.types.json import Json, Jsonb

    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if isinstance(values, np.ma.MaskedArray):
        values = np.ma.MaskedArray(values, dtype=object).filled(None)
    if getattr(values, "dtype", None) is not None and values.dtype.kind == "M":
        values = pd.Series(values).astype(object)
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    wrap = {"jsonb": Jsonb, "json": Json}.get(column.type_name)
    out: list[Any] = []
    for item in items:
        if item is None or item is pd.NA or item is pd.NaT:
            out.append(None)
        elif isinstance(item, np.ndarray):
            out.append(item.tolist())
        elif wrap is not None and not isinstance(item, str):
            out.append(wrap(item))
        else:
            out.append(item)
    return out


def _rejected(info: _Table, span: tuple[int, int], error: Exception) -> BulkWriteError:
    """Turn a database error into a one-line BulkWriteError naming the table and the constraint."""
    diag = getattr(error, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    primary = getattr(diag, "message_primary", None) or str(error).strip().splitlines()[0]
    where = f"rows {span[0]}-{span[1] - 1}"
    if constraint:
        message = f"{info.display}: {where} rejected, constraint {constraint} violated ({primary})"
    else:
        message = f"{info.display}: {where} rejected ({primary})"
    return BulkWriteError(message, table=info.display, constraint=constraint)
