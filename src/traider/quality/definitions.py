"""Read the suite definitions in `expectations/<table>.yaml`: schema, built-in expectations, custom checks.

A definition is plain data (no Great Expectations import): `traider.quality.suites` turns it into
GX suites. Every name that ends up in SQL (table, columns) is checked to be a plain identifier here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traider.errors import TraiderError

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[3] / "expectations"
TABLES = ("ohlcv", "trades", "book_snapshots", "book_deltas", "funding_rates")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_DOMAIN_KEYS = ("column", "column_A", "column_B", "column_list")


class SuiteDefinitionError(TraiderError):
    """A suite file is missing or malformed."""

    exit_code = 2


@dataclass(frozen=True)
class ExpectationSpec:
    """One built-in Great Expectations expectation: its snake_case type, kwargs and a unique name."""

    name: str
    type: str
    kwargs: Mapping[str, Any]


@dataclass(frozen=True)
class SuiteDefinition:
    """A table's suite as written in its YAML file."""

    name: str
    schema_name: str
    table_name: str
    time_column: str
    series: tuple[str, ...]
    columns: Mapping[str, str]
    expectations: tuple[ExpectationSpec, ...]
    checks: Mapping[str, Mapping[str, Any]]
    source: Path

    @property
    def table(self) -> str:
        """Return the qualified table name, e.g. `market.ohlcv`."""
        return f"{self.schema_name}.{self.table_name}"


def load_suite(table: str, directory: Path | None = None) -> SuiteDefinition:
    """Read the suite of `table` (`ohlcv` or `market.ohlcv`) from `directory` (default: `expectations/`)."""
    name = table.removeprefix("market.")
    if name not in TABLES:
        raise SuiteDefinitionError(f"no data-quality suite for table {table!r}; known: {', '.join(TABLES)}")
    path = (directory or DEFAULT_DIRECTORY) / f"{name}.yaml"
    return parse_suite(_read(path), path)


def parse_suite(raw: Any, source: Path) -> SuiteDefinition:
    """Validate the parsed YAML of one suite file and return its definition."""
    if not isinstance(raw, dict):
        raise SuiteDefinitionError(f"{source}: expected a mapping with suite, table, schema and expectations")
    try:
        schema_name, _, table_name = str(raw["table"]).partition(".")
        definition = SuiteDefinition(
            name=_identifier(raw["suite"], "suite"),
            schema_name=_identifier(schema_name, "table schema"),
            table_name=_identifier(table_name, "table"),
            time_column=_identifier(raw.get("time_column", "ts"), "time_column"),
            series=tuple(_identifier(column, "series") for column in raw["series"]),
            columns={_identifier(column, "schema"): str(kind) for column, kind in dict(raw["schema"]).items()},
            expectations=_expectations(raw.get("expectations") or []),
            checks={str(check): dict(params or {}) for check, params in dict(raw.get("checks") or {}).items()},
            source=source,
        )
    except KeyError as error:
        raise SuiteDefinitionError(f"{source}: missing key {error.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        raise SuiteDefinitionError(f"{source}: {error}") from None
    return definition


def _read(path: Path) -> Any:
    import yaml  # type: ignore[import-untyped]

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SuiteDefinitionError(f"{path}: cannot read suite file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise SuiteDefinitionError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from None


def _expectations(entries: list[Any]) -> tuple[ExpectationSpec, ...]:
    """Expand `columns: [...]` shorthands and name every expectation uniquely."""
    specs: list[ExpectationSpec] = []
    for entry in entries:
        kwargs = dict(entry)
        kind = str(kwargs.pop("type"))
        explicit = kwargs.pop("name", None)
        columns = kwargs.pop("columns", None)
        variants = [kwargs] if columns is None else [{"column": column, **kwargs} for column in columns]
        for variant in variants:
            for key in _DOMAIN_KEYS:
                if key in variant:
                    names = variant[key] if isinstance(variant[key], list) else [variant[key]]
                    for column in names:
                        _identifier(column, key)
            specs.append(ExpectationSpec(name=str(explicit or _default_name(kind, variant)), type=kind, kwargs=variant))
    seen = [spec.name for spec in specs]
    duplicates = sorted({name for name in seen if seen.count(name) > 1})
    if duplicates:
        raise ValueError(f"expectation names must be unique, repeated: {', '.join(duplicates)} (give each a `name`)")
    return tuple(specs)


def _default_name(kind: str, kwargs: Mapping[str, Any]) -> str:
    """Name an expectation by its type and the columns it looks at, e.g. `expect_..._between(volume)`."""
    columns: list[str] = []
    for key in _DOMAIN_KEYS:
        value = kwargs.get(key)
        if value is not None:
            columns.extend(value if isinstance(value, list) else [value])
    return f"{kind}({', '.join(str(column) for column in columns)})"


def _identifier(value: Any, what: str) -> str:
    text = str(value)
    if not _IDENTIFIER.match(text):
        raise ValueError(f"{what}: {text!r} is not a plain lower-case SQL identifier")
    return text
