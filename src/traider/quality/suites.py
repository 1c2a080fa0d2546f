"""Build a table's Great Expectations suites from its definition and run them on one window.

A definition becomes two GX suites, validated together by one GX Checkpoint:
- `<suite>.schema` on a table asset (the whole table, metadata only): the exact column set and each
  column's PostgreSQL type (GX cannot see the types of a query's columns);
- `<suite>.window` on a query asset selecting the rows with ts in [start, end): the built-in
  expectations of the YAML file, then one `UnexpectedRowsExpectation` per custom check.
Results are rendered into the Data Docs site under `$TRAIDER_HOME/data_docs`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from traider.quality.context import DOCS_SITE, docs_directory, postgres_datasource, quality_context
from traider.quality.definitions import SuiteDefinition, SuiteDefinitionError
from traider.quality.registry import check_sql, describe
from traider.quality.results import ExpectationResult, SuiteResult
from traider.quality.window import Window

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite, ExpectationValidationResult
    from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext
    from great_expectations.datasource.fluent.postgres_datasource import PostgresDatasource
    from great_expectations.expectations.expectation import Expectation

log = logging.getLogger(__name__)

SAMPLE_ROWS = 5
RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": SAMPLE_ROWS}
_OBSERVED_KEYS = ("observed_value", "element_count", "unexpected_count", "unexpected_percent", "missing_count")


def build_suites(definition: SuiteDefinition, window: Window) -> tuple[ExpectationSuite, ExpectationSuite]:
    """Return the GX suites `<suite>.schema` and `<suite>.window` of `definition` for `window`."""
    import great_expectations as gx
    from great_expectations.expectations.core.expect_column_values_to_be_of_type import ExpectColumnValuesToBeOfType
    from great_expectations.expectations.core.expect_table_columns_to_match_set import ExpectTableColumnsToMatchSet
    from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    # Expectations are passed to the constructor: adding them one by one to a suite whose name is
    # already in the (file) store rewrites the stored suite after each one.
    schema: list[Expectation] = [
        ExpectTableColumnsToMatchSet(
            column_set=list(definition.columns), exact_match=True, meta={"name": "expect_table_columns_to_match_set"}
        )
    ]
    for column, kind in definition.columns.items():
        name = f"expect_column_values_to_be_of_type({column})"
        schema.append(ExpectColumnValuesToBeOfType(column=column, type_=kind, meta={"name": name}))

    rows: list[Expectation] = []
    for spec in definition.expectations:
        configuration = ExpectationConfiguration(type=spec.type, kwargs=dict(spec.kwargs), meta={"name": spec.name})
        try:
            rows.append(configuration.to_domain_obj())
        except Exception as error:  # GX raises several unrelated types for a bad type or kwargs
            raise SuiteDefinitionError(f"{definition.source}: {spec.name}: {' '.join(str(error).split())}") from None
    for check in definition.checks:
        rows.append(
            UnexpectedRowsExpectation(
                unexpected_rows_query=check_sql(definition, check, window),
                description=describe(definition, check),
                meta={"name": check},
            )
        )
    return (
        gx.ExpectationSuite(name=f"{definition.name}.schema", expectations=schema),
        gx.ExpectationSuite(name=f"{definition.name}.window", expectations=rows),
    )


def run_suite(
    engine: Engine, definition: SuiteDefinition, window: Window, run_id: str, *, home: Path, connect_timeout_s: int = 5
) -> SuiteResult:
    """Validate `definition`'s table on `window` through `engine`, build the Data Docs, return the outcome."""
    from great_expectations.core.run_identifier import RunIdentifier

    context = quality_context(home)
    datasource = postgres_datasource(context, engine, definition.schema_name, connect_timeout_s=connect_timeout_s)
    schema_suite, window_suite = build_suites(definition, window)
    order = [
        (expectation.meta or {})["name"] for expectation in (*schema_suite.expectations, *window_suite.expectations)
    ]
    with _checkpoint(context, datasource, definition, window, (schema_suite, window_suite)) as checkpoint:
        outcome = checkpoint.run(run_id=RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)))
    results = {
        result.expectation_config.meta["name"]: _expectation_result(result)
        for validation in outcome.run_results.values()
        for result in validation.results
        if result.expectation_config is not None
    }
    expectations = tuple(results[name] for name in order if name in results)
    index = _build_docs(context, list(outcome.run_results), home)
    result = SuiteResult(
        suite=definition.name,
        table=definition.table,
        success=bool(outcome.success) and len(expectations) == len(order),
        expectations=expectations,
        data_docs=index,
    )
    log.info("%s [%s, %s) run %s", result.summary(), window.start.isoformat(), window.end.isoformat(), run_id)
    return result


@contextmanager
def _checkpoint(
    context: EphemeralDataContext,
    datasource: PostgresDatasource,
    definition: SuiteDefinition,
    window: Window,
    suites: tuple[ExpectationSuite, ExpectationSuite],
) -> Iterator[Any]:
    """Register the assets, validation definitions and checkpoint of one run; remove them afterwards."""
    import great_expectations as gx

    schema_suite, window_suite = (context.suites.add_or_update(suite) for suite in suites)
    assets = {"table": f"{definition.name}.table", "window": f"{definition.name}.window"}
    for asset in assets.values():
        with suppress(LookupError):
            datasource.delete_asset(asset)
    table_asset = datasource.add_table_asset(assets["table"], table_name=definition.table_name)
    window_asset = datasource.add_query_asset(
        assets["window"],
        query=f"SELECT * FROM {definition.table} WHERE {definition.time_column} >= {window.start_sql} "
        f"AND {definition.time_column} < {window.end_sql}",
    )
    validations = [
        context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{suite.name}.run", data=asset.add_batch_definition_whole_table("all"), suite=suite
            )
        )
        for asset, suite in ((table_asset, schema_suite), (window_asset, window_suite))
    ]
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=f"{definition.name}.run", validation_definitions=validations, result_format=RESULT_FORMAT)
    )
    try:
        yield checkpoint
    finally:
        with suppress(Exception):
            context.checkpoints.delete(checkpoint.name)
        for validation in validations:
            with suppress(Exception):
                context.validation_definitions.delete(validation.name)
        for asset in assets.values():
            with suppress(Exception):
                datasource.delete_asset(asset)


def _expectation_result(result: ExpectationValidationResult) -> ExpectationResult:
    """Convert one GX result: observed values, unexpected count, up to SAMPLE_ROWS offending rows or values."""
    configuration = result.expectation_config
    assert configuration is not None  # filtered by the caller
    payload: Mapping[str, Any] = result.result or {}
    observed = {key: payload[key] for key in _OBSERVED_KEYS if key in payload}
    details = payload.get("details")
    if isinstance(details, Mapping) and "unexpected_rows" in details:
        observed["unexpected_count"] = payload.get("observed_value")
        sample = list(details["unexpected_rows"])[:SAMPLE_ROWS]
    else:
        sample = list(payload.get("partial_unexpected_list") or [])[:SAMPLE_ROWS]
    return ExpectationResult(
        name=str(configuration.meta["name"]),
        expectation_type=configuration.type,
        success=bool(result.success),
        observed=observed,
        sample=tuple(sample),
        error=_error_message(result.exception_info),
    )


def _error_message(info: Mapping[str, Any] | None) -> str | None:
    """Return the first exception message GX caught while validating, if any."""
    if not info:
        return None
    candidates = [info] if "raised_exception" in info else [item for item in info.values() if isinstance(item, Mapping)]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            return " ".join(str(candidate.get("exception_message") or "error").split())
    return None


def _build_docs(context: EphemeralDataContext, identifiers: list[Any], home: Path) -> Path | None:
    """Render this run's validation pages and the index; a failure here is logged, never raised."""
    try:
        context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=identifiers)
    except Exception:
        log.warning("could not build the Data Docs under %s", docs_directory(home), exc_info=True)
        return None
    return docs_directory(home) / "index.html"


def run_quality_gate(table: str, start: str, end: str, *, run_id: str) -> dict[str, Any]:
    """Check `table` on [start, end) (ISO 8601; naive means UTC) with the application engine; the DAG task's call.

    Return a JSON-able summary for XCom; raise QualityGateFailed (after recording the results and the
    alert) when the suite fails.
    """
    from traider.config import get_settings
    from traider.db.engine import application_engine
    from traider.quality.gate import check_table

    bounds = [datetime.fromisoformat(moment) for moment in (start, end)]
    first, last = (moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in bounds)
    engine = application_engine(get_settings())
    try:
        result = check_table(engine, table, first, last, run_id)
    finally:
        engine.dispose()
    return {
        "suite": result.suite,
        "table": result.table,
        "success": result.success,
        "expectations": len(result.expectations),
        "data_docs": str(result.data_docs) if result.data_docs else None,
    }
