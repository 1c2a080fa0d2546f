"""Coerce raw file columns to canonical types, vectorised, keeping the reason for every row that fails.

These are parse rules (is it a number, a time, a positive price); the business rules (high below
low, spikes, duplicates, crossed books) run later in `marketdata.validation` for every source alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from traider.marketdata.records import COLUMNS, Rejection, Stream

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Bound = Literal["positive", "nonnegative"] | None
Unit = Literal["s", "ms", "us", "ns"]
EPOCH_UNITS: tuple[Unit, ...] = ("s", "ms", "us", "ns")
LATEST = "2100-01-01T00:00:00Z"


def epoch_unit(magnitude: float) -> Unit:
    """Return the epoch unit (s, ms, us, ns) whose values for 1973-2286 have this magnitude."""
    for unit, limit in zip(EPOCH_UNITS, (1e10, 1e13, 1e16), strict=False):
        if magnitude < limit:
            return unit
    return "ns"


class RowChecks:
    """Typed columns built from one raw frame, plus one reason per row that could not be normalised."""

    def __init__(self, raw: pd.DataFrame, *, stream: Stream, source: str) -> None:
        import pandas as pd

        self.raw = raw.reset_index(drop=True)
        self.stream = stream
        self.source = source
        self.reasons = pd.Series("", index=self.raw.index, dtype=object)

    def flag(self, mask: pd.Series, reason: str) -> None:
        """Give `reason` to the rows in `mask` (aligned on the raw index) that have no reason yet."""
        hit = mask.reindex(self.reasons.index).fillna(False).astype(bool).to_numpy()
        self.reasons[hit & (self.reasons == "").to_numpy()] = reason

    def number(self, values: pd.Series, name: str, *, bound: Bound = None, required: bool = True) -> pd.Series:
        """Return `values` as float64; flag missing, non-numeric, infinite and out-of-bound ones."""
        import pandas as pd

        text = _stripped(values)
        missing = text.isna() | (text == "") if text.dtype == object or _is_text(text) else text.isna()
        numbers = pd.to_numeric(text.where(~missing), errors="coerce").astype("float64")
        if required:
            self.flag(missing, f"{name} missing")
        self.flag(numbers.isna() & ~missing, f"{name} is not a number")
        self.flag(numbers.isin([math.inf, -math.inf]), f"{name} is not finite")
        if bound == "positive":
            self.flag(numbers <= 0, f"{name} not positive")
        elif bound == "nonnegative":
            self.flag(numbers < 0, f"{name} negative")
        return numbers

    def grid(self, block: pd.DataFrame, name: str, *, bound: Bound = None) -> np.ndarray[Any, Any]:
        """Return a block of optional numbers (blank cells: NaN) as a 2-D float array; flag rows with a bad cell."""
        import numpy as np
        import pandas as pd

        if all(pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype) for dtype in block.dtypes):
            numbers = block.to_numpy(dtype="float64")
        else:
            text = block.apply(_stripped)
            numbers = text.apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
            given = (text.notna() & (text.astype("string") != "")).to_numpy(dtype=bool)
            self.flag(pd.Series((given & np.isnan(numbers)).any(axis=1)), f"{name} is not a number")
        self.flag(pd.Series(np.isinf(numbers).any(axis=1)), f"{name} is not finite")
        with np.errstate(invalid="ignore"):
            if bound == "positive":
                self.flag(pd.Series((numbers <= 0).any(axis=1)), f"{name} not positive")
            elif bound == "nonnegative":
                self.flag(pd.Series((numbers < 0).any(axis=1)), f"{name} negative")
        return numbers

    def epoch(self, values: pd.Series, name: str, unit: Unit | None = None) -> pd.Series:
        """Return epoch numbers as UTC times, in `unit` or the unit their magnitude suggests."""
        import pandas as pd

        if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_unsigned_integer_dtype(values.dtype):
            whole = values.astype("Int64")
            numbers = whole.astype("float64")
        else:
            numbers = self.number(values, name)
            whole = numbers.where(numbers.abs() < 9e18).round().astype("Int64")
        if unit is None:
            median = numbers[numbers > 0].median()
            unit = "ms" if pd.isna(median) else epoch_unit(float(median))
        times = pd.to_datetime(whole, unit=unit, utc=True, errors="coerce")
        return self._in_range(times, name)

    def timestamp(self, values: pd.Series, name: str, unit: Unit | None = None) -> pd.Series:
        """Return `values` (datetimes, epoch numbers or ISO 8601 text) as UTC times; flag the rest."""
        import pandas as pd

        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return self._in_range(pd.to_datetime(values, utc=True), name)
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            return self.epoch(values, name, unit)
        text = _stripped(values).astype("string")
        numeric = text.str.fullmatch(r"-?[0-9]+(\.[0-9]*)?").fillna(False).astype(bool)
        if numeric.all():
            return self.epoch(text, name, unit)
        self.flag(text.isna() | (text == ""), f"{name} missing")
        times = pd.to_datetime(text.where(~numeric), utc=True, errors="coerce", format="ISO8601")
        times = times.astype("datetime64[us, UTC]")
        if numeric.any():
            times[numeric] = self.epoch(text[numeric], name, unit)
        return self._in_range(times, name)

    def _in_range(self, times: pd.Series, name: str) -> pd.Series:
        import pandas as pd

        times = times.astype("datetime64[us, UTC]")
        late = times >= pd.Timestamp(LATEST)
        self.flag(times.isna(), f"{name} is not a time")
        self.flag(late, f"{name} after 2100 (wrong epoch unit?)")
        return times.where(~late)

    def text(self, values: pd.Series, name: str, *, required: bool = True) -> pd.Series:
        """Return `values` as stripped text (None where missing); flag missing ones if required."""
        text = _stripped(values).astype("string")
        blank = text.isna() | (text == "")
        if required:
            self.flag(blank, f"{name} missing")
        return text.astype(object).where(~blank, None)

    def choice(self, values: pd.Series, name: str, mapping: Mapping[str, str], *, required: bool = True) -> pd.Series:
        """Return `values` mapped through `mapping` (case-insensitive); flag values it does not know."""
        text = self.text(values, name, required=required)
        mapped = text.str.lower().map(dict(mapping))
        self.flag(text.notna() & mapped.isna(), f"{name} not one of {', '.join(sorted(set(mapping)))}")
        return mapped.astype(object).where(mapped.notna(), None)

    def split(self, columns: Mapping[str, Any]) -> tuple[pd.DataFrame, tuple[Rejection, ...]]:
        """Return the good rows in canonical columns and one rejection (raw record, reason) per bad row."""
        import pandas as pd

        frame = pd.DataFrame({name: columns[name] for name in COLUMNS[self.stream]}, index=self.raw.index)
        bad = (self.reasons != "").to_numpy()
        if not bad.any():
            return frame, ()
        records = self.raw[bad].to_dict("records")
        rejections = tuple(
            Rejection(source=self.source, stream=self.stream, record=jsonable(record), reason=str(reason))
            for record, reason in zip(records, self.reasons[bad], strict=True)
        )
        return frame[~bad].reset_index(drop=True), rejections


def jsonable(record: Mapping[Any, Any]) -> dict[str, Any]:
    """Return a raw record with values JSON can hold: no NaN or infinity, no numpy or pandas scalars."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[str(key)] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return jsonable(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "isoformat"):
        value = None if str(value) == "NaT" else value.isoformat()
    elif hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        value = None if math.isnan(value) else str(value)
    elif isinstance(value, bytes):
        value = value.hex()
    elif not (value is None or isinstance(value, str | int | float | bool)):
        value = None if _is_missing(value) else str(value)
    return value


def _is_text(values: pd.Series) -> bool:
    import pandas as pd

    return isinstance(values.dtype, pd.StringDtype)


def _stripped(values: pd.Series) -> pd.Series:
    """Return text values without surrounding blanks (freqtrade CSVs pad them); other values unchanged."""
    if _is_text(values):
        return values.str.strip()
    if values.dtype == object:
        return values.map(lambda value: value.strip() if isinstance(value, str) else value)
    return values


def _is_missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
