"""Encode columns as PostgreSQL's binary COPY format with numpy, without a per-row Python loop.

The stream is the signature `PGCOPY\\n\\377\\r\\n\\0`, int32 flags and int32 header-extension length,
then per row an int16 field count and per field an int32 length (-1 for NULL) and the big-endian
payload, then the int16 trailer -1. Rows are assembled column by column: runs of fields whose width
is the same in every row are packed into one structured array, and each run or variable-width piece
is copied to its offset in every row through an overlapping strided view of the output buffer, so
one numpy assignment moves a whole column.

NULL is None, pandas NA, NaT or a masked entry. Float NaN is sent as NaN, never as NULL, so the
database's CHECK constraints see it. Text is factorized: each distinct string is encoded once and
its bytes are scattered to the rows that hold it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
NULL_LENGTH = b"\xff\xff\xff\xff"

# Microseconds between the Unix epoch and PostgreSQL's epoch, 2000-01-01 00:00:00 UTC.
POSTGRES_EPOCH_US = 946_684_800_000_000

_PAYLOAD_DTYPES: dict[str, np.dtype[Any]] = {
    "float8": np.dtype(">f8"),
    "float4": np.dtype(">f4"),
    "int8": np.dtype(">i8"),
    "int4": np.dtype(">i4"),
    "int2": np.dtype(">i2"),
    "bool": np.dtype("?"),
    "timestamptz": np.dtype(">i8"),
    "timestamp": np.dtype(">i8"),
}
_TEXT_TYPES = frozenset({"text", "varchar"})
_ALIASES = {
    "double precision": "float8",
    "real": "float4",
    "bigint": "int8",
    "integer": "int4",
    "int": "int4",
    "smallint": "int2",
    "boolean": "bool",
    "character varying": "varchar",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
}

SUPPORTED_TYPES = frozenset(_PAYLOAD_DTYPES) | _TEXT_TYPES

_UInt8Array = NDArray[np.uint8]
_IntArray = NDArray[np.int64]
_BoolArray = NDArray[np.bool_]


class EncodingError(ValueError):
    """A column's values cannot be encoded as its PostgreSQL type."""


def canonical_type(type_name: str) -> str | None:
    """Return the encoder's name for a PostgreSQL type name or alias, or None when it is not supported."""
    name = type_name.strip().lower()
    if "(" in name:  # varchar(20), timestamp(3) with time zone
        head, _, rest = name.partition("(")
        name = (head.strip() + " " + rest.partition(")")[2].strip()).strip()
    name = _ALIASES.get(name, name)
    return name if name in SUPPORTED_TYPES else None


def encode(
    columns: Sequence[object],
    types: Sequence[str],
    *,
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> _UInt8Array:
    """Return the binary COPY stream (header, rows, trailer) of equally long columns as a uint8 array."""
    if len(columns) != len(types):
        raise EncodingError(f"{len(columns)} columns but {len(types)} types")
    if not columns:
        raise EncodingError("no columns to encode")
    labels = list(names) if names is not None else [f"column {i + 1}" for i in range(len(columns))]
    pieces = [
        _encode_column(values, type_name, label, encoding)
        for values, type_name, label in zip(columns, types, labels, strict=True)
    ]
    rows = {piece.rows for piece in pieces}
    if len(rows) != 1:
        raise EncodingError(f"columns differ in length: {sorted(rows)}")
    return _assemble(pieces, rows.pop())


@dataclass
class _Piece:
    """One column, encoded: fixed (same field width in every row) or variable."""

    rows: int
    # Fixed: the structured dtype of the field (length prefix and payload) and its value per row.
    field_dtype: np.dtype[Any] | None = None
    field_value: Any = None
    # Variable: the field width of every row and the (row indices, field bytes) to place.
    sizes: _IntArray | None = None
    segments: tuple[tuple[_IntArray, _UInt8Array], ...] = ()


def _encode_column(values: object, type_name: str, label: str, encoding: str) -> _Piece:
    kind = canonical_type(type_name)
    if kind is None:
        raise EncodingError(f"{label}: type {type_name!r} is not supported by the binary encoder")
    try:
        if kind in _TEXT_TYPES:
            return _text_piece(values, label, encoding)
        if kind in ("timestamptz", "timestamp"):
            data, mask = timestamp_micros(values)
        else:
            data, mask = _numbers(values, kind, label)
    except (TypeError, ValueError, OverflowError) as error:
        if isinstance(error, EncodingError):
            raise
        raise EncodingError(f"{label}: cannot encode as {kind} ({_first_line(error)})") from error
    return _fixed_piece(data, mask, _PAYLOAD_DTYPES[kind])


def _fixed_piece(data: NDArray[Any], mask: _BoolArray | None, payload: np.dtype[Any]) -> _Piece:
    rows = len(data)
    prefix = np.array(payload.itemsize, dtype=">i4").tobytes()
    if mask is None or not mask.any():
        field = np.dtype([("length", ">i4"), ("value", payload)])
        return _Piece(rows=rows, field_dtype=field, field_value=data)
    present = np.flatnonzero(~mask)
    fields = np.empty((len(present), 4 + payload.itemsize), dtype=np.uint8)
    fields[:, :4] = np.frombuffer(prefix, dtype=np.uint8)
    fields[:, 4:].view(payload)[:, 0] = data[present]
    sizes = np.where(mask, 4, 4 + payload.itemsize).astype(np.int64)
    null_rows = np.flatnonzero(mask)
    return _Piece(
        rows=rows,
        sizes=sizes,
        segments=((present, fields), (null_rows, np.frombuffer(NULL_LENGTH, dtype=np.uint8))),
    )


def _text_piece(values: object, label: str, encoding: str) -> _Piece:
    codes, uniques = pd.factorize(_as_factorizable(values))
    codes = np.asarray(codes, dtype=np.int64)
    encoded = []
    for unique in uniques:
        if not isinstance(unique, str):
            raise EncodingError(f"{label}: text column holds a {type(unique).__name__} ({unique!r})")
        encoded.append(unique.encode(encoding))
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    null = codes < 0
    has_null = bool(null.any())
    if not has_null and len(encoded) == 1:
        field = _text_fields(encoded, int(lengths[0]))[0]
        return _Piece(rows=len(codes), field_dtype=np.dtype((np.uint8, field.size)), field_value=field)
    if not has_null and len(encoded) > 1 and bool((lengths == lengths[0]).all()):
        table = _text_fields(encoded, int(lengths[0]))
        return _Piece(rows=len(codes), field_dtype=np.dtype((np.uint8, table.shape[1])), field_value=table[codes])
    row_lengths = np.where(null, -1, lengths[np.maximum(codes, 0)] if encoded else 0)
    segments: list[tuple[_IntArray, _UInt8Array]] = []
    if has_null:
        segments.append((np.flatnonzero(null), np.frombuffer(NULL_LENGTH, dtype=np.uint8)))
    for length in np.unique(lengths).tolist():
        members = np.flatnonzero(lengths == length)
        table = _text_fields([encoded[i] for i in members.tolist()], length)
        rows = np.flatnonzero(row_lengths == length)
        if len(members) == 1:
            segments.append((rows, table[0]))
        else:
            local = np.zeros(len(encoded), dtype=np.int64)
            local[members] = np.arange(len(members))
            segments.append((rows, table[local[codes[rows]]]))
    sizes = 4 + np.maximum(row_lengths, 0)
    return _Piece(rows=len(codes), sizes=sizes, segments=tuple(segments))


def _text_fields(encoded: list[bytes], length: int) -> _UInt8Array:
    """Return one row per string: its int32 length then its bytes (all strings have `length` bytes)."""
    table = np.empty((len(encoded), 4 + length), dtype=np.uint8)
    table[:, :4] = np.frombuffer(np.array(length, dtype=">i4").tobytes(), dtype=np.uint8)
    if length:
        table[:, 4:] = np.frombuffer(b"".join(encoded), dtype=np.uint8).reshape(len(encoded), length)
    return table


def _as_factorizable(values: object) -> Any:
    if isinstance(values, pd.Series | pd.Index | np.ndarray | pd.api.extensions.ExtensionArray):
        if isinstance(values, np.ma.MaskedArray):
            data = np.asarray(values.data, dtype=object).copy()
            data[np.ma.getmaskarray(values)] = None
            return data
        return values
    return np.asarray(values, dtype=object)


def _numbers(values: object, kind: str, label: str) -> tuple[NDArray[Any], _BoolArray | None]:
    """Return the values as a numpy array for `kind` and the NULL mask (None when there is no NULL)."""
    target = {"float8": np.float64, "float4": np.float32, "bool": np.bool_}.get(kind, np.int64)
    data, mask = _unwrap(values, target)
    if kind == "bool":
        if data.dtype.kind not in "biuf":
            raise EncodingError(f"{label}: bool column holds {data.dtype} values")
        return (data != 0) if data.dtype != np.bool_ else data, mask
    if kind.startswith("int"):
        return _integers(data, mask, kind, label), mask
    if data.dtype.kind not in "biuf":
        raise EncodingError(f"{label}: {kind} column holds {data.dtype} values")
    return data, mask


def _integers(data: NDArray[Any], mask: _BoolArray | None, kind: str, label: str) -> NDArray[Any]:
    if data.dtype.kind not in "biuf":
        raise EncodingError(f"{label}: {kind} column holds {data.dtype} values")
    checked = data if mask is None else data[~mask]
    integral = data.dtype.kind != "f" or (
        bool(np.isfinite(checked).all()) and bool((checked == np.trunc(checked)).all())
    )
    if not integral:
        raise EncodingError(f"{label}: {kind} column holds non-integral values")
    limits = np.iinfo(_PAYLOAD_DTYPES[kind].newbyteorder("="))
    if checked.size and (checked.min() < limits.min or checked.max() > limits.max):
        raise EncodingError(f"{label}: {kind} column holds values outside [{limits.min}, {limits.max}]")
    return data


def _unwrap(values: object, target: type[np.generic]) -> tuple[NDArray[Any], _BoolArray | None]:
    """Split values into a numpy array and a NULL mask, keeping float NaN as a value."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if isinstance(values, np.ma.MaskedArray):
        return np.asarray(values.data), np.ma.getmaskarray(values)
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        values = values.to_numpy()
    if isinstance(values, pd.api.extensions.ExtensionArray):
        mask = np.asarray(values.isna(), dtype=bool)
        if target is np.int64 and values.dtype.kind == "f":
            target = np.float64  # keep fractions visible to the integer check
        fill = False if target is np.bool_ else 0
        return values.to_numpy(dtype=target, na_value=fill), mask
    data = np.asarray(values)
    if data.dtype != object:
        return data, None
    mask = _null_objects(data)
    if mask.any():
        data = data.copy()
        data[mask] = 0
    if target is np.int64:
        return np.array(data.tolist()), mask  # ints stay exact, fractions stay visible to the check
    return data.astype(target), mask


_NULL_OBJECTS = np.frompyfunc(lambda value: value is None or value is pd.NA or value is pd.NaT, 1, 1)


def _null_objects(data: NDArray[Any]) -> _BoolArray:
    return np.asarray(_NULL_OBJECTS(data), dtype=bool)


def timestamp_micros(values: object) -> tuple[_IntArray, _BoolArray | None]:
    """Return microseconds since 2000-01-01 UTC (floored) and the NULL mask; naive values are UTC."""
    mask: _BoolArray | None = None
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        values = values.data
    if isinstance(values, pd.Series | pd.Index | pd.arrays.DatetimeArray):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = pd.DatetimeIndex(values).tz_convert(None).to_numpy()
        elif values.dtype.kind == "M":
            values = values.to_numpy()
    if not (isinstance(values, np.ndarray) and values.dtype.kind == "M"):
        index = pd.DatetimeIndex(pd.to_datetime(_as_factorizable(values), utc=True))
        values = index.tz_convert(None).to_numpy()
    assert isinstance(values, np.ndarray)
    nat = np.isnat(values)
    mask = nat if mask is None else (mask | nat)
    micros = values.astype("datetime64[us]").view(np.int64) - POSTGRES_EPOCH_US
    return micros, (mask if mask.any() else None)


_Run = list[tuple[np.dtype[Any], Any]]


def _layout(pieces: list[_Piece]) -> list[_Run | _Piece]:
    """Group the row's fields in order: runs of fixed-width fields (the field count first) and variable pieces."""
    layout: list[_Run | _Piece] = [[(np.dtype(">i2"), len(pieces))]]
    for piece in pieces:
        if piece.field_dtype is None:
            layout.append(piece)
            continue
        last = layout[-1]
        if isinstance(last, list):
            last.append((piece.field_dtype, piece.field_value))
        else:
            layout.append([(piece.field_dtype, piece.field_value)])
    return layout


def _assemble(pieces: list[_Piece], rows: int) -> _UInt8Array:
    """Lay the pieces out row by row after the header and return the whole stream."""
    if rows == 0:
        return _frame(np.empty(len(HEADER) + len(TRAILER), dtype=np.uint8))
    layout = _layout(pieces)
    first = layout[0]
    if len(layout) == 1 and isinstance(first, list):  # all fields fixed-width: rows are one structured array
        dtype = _run_dtype(first)
        out = np.empty(len(HEADER) + rows * dtype.itemsize + len(TRAILER), dtype=np.uint8)
        _structure(first, np.ndarray((rows,), dtype=dtype, buffer=out, offset=len(HEADER)))
        return _frame(out)
    blocks = [
        _structure(item, np.empty(rows, dtype=_run_dtype(item))) if isinstance(item, list) else item for item in layout
    ]
    sizes = np.zeros(rows, dtype=np.int64)
    for block in blocks:
        sizes += block.dtype.itemsize if isinstance(block, np.ndarray) else _sizes(block)
    position = np.empty(rows, dtype=np.int64)  # where the next field of each row starts
    position[0] = len(HEADER)
    np.cumsum(sizes[:-1], out=position[1:])
    position[1:] += len(HEADER)
    out = np.empty(len(HEADER) + int(sizes.sum()) + len(TRAILER), dtype=np.uint8)
    for block in blocks:
        if isinstance(block, np.ndarray):
            width = block.dtype.itemsize
            _window(out, width)[position] = block.view(np.uint8).reshape(rows, width)
            position += width
        else:
            for indices, fields in block.segments:
                if len(indices):
                    _window(out, fields.shape[-1])[position[indices]] = fields
            position += _sizes(block)
    return _frame(out)


def _sizes(piece: _Piece) -> _IntArray:
    assert piece.sizes is not None
    return piece.sizes


def _run_dtype(run: _Run) -> np.dtype[np.void]:
    return np.dtype([(f"f{i}", field) for i, (field, _) in enumerate(run)])


def _structure(run: _Run, array: NDArray[np.void]) -> NDArray[np.void]:
    """Fill the structured array `array` (one field per entry of the run) and return it."""
    for i, (field, value) in enumerate(run):
        if field.names is not None and "length" in field.names:
            array[f"f{i}"]["length"] = field["value"].itemsize
            array[f"f{i}"]["value"] = value
        else:
            array[f"f{i}"] = value
    return array


def _window(out: _UInt8Array, width: int) -> _UInt8Array:
    """Return a writable (positions, width) view of `out` whose row p is out[p:p + width]."""
    return as_strided(out, shape=(out.size - width + 1, width), strides=(1, 1), writeable=True)


def _frame(out: _UInt8Array) -> _UInt8Array:
    out[: len(HEADER)] = np.frombuffer(HEADER, dtype=np.uint8)
    out[-len(TRAILER) :] = np.frombuffer(TRAILER, dtype=np.uint8)
    return out


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
