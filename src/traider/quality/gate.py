"""The data-quality gate: check one table's window, record the outcome, stop the pipeline on failure."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from traider.errors import TraiderError
from traider.quality.results import SuiteResult, record_results
from traider.quality.window import Window


class QualityGateFailed(TraiderError):
    """A table's data-quality suite failed for a window; downstream work must not use that data."""

    def __init__(self, result: SuiteResult, start: datetime, end: datetime) -> None:
        where = f" (Data Docs: {result.data_docs})" if result.data_docs else ""
        super().__init__(
            f"data quality gate failed for {result.table} [{start.isoformat()}, {end.isoformat()}): "
            f"{', '.join(expectation.name for expectation in result.failed)}{where}"
        )
        self.result = result


def check_table(
    engine: Engine,
    table: str,
    start: datetime,
    end: datetime,
    run_id: str,
    *,
    suites_directory: Path | None = None,
    home: Path | None = None,
) -> SuiteResult:
    """Run `table`'s suite on the rows with ts in [start, end), record it, raise QualityGateFailed if it failed.

    `table` is `ohlcv` or `market.ohlcv` (one of the five market series tables); `run_id` names the
    run in `ops.quality_results` (re-running the same run id replaces its rows). The suite is read
    from `suites_directory` (default `expectations/`) and the Data Docs are written under
    `home/data_docs` (default: the `TRAIDER_HOME` setting).
    """
    from traider.config import get_settings
    from traider.quality.definitions import load_suite
    from traider.quality.suites import run_suite

    settings = get_settings()
    try:
        window = Window(start, end)
    except ValueError as error:
        raise TraiderError(f"data quality check of {table}: {error}") from None
    definition = load_suite(table, suites_directory)
    result = run_suite(
        engine,
        definition,
        window,
        run_id,
        home=home or settings.home,
        connect_timeout_s=settings.database_connect_timeout_s,
    )
    with engine.begin() as connection:
        record_results(connection, run_id, result, start, end)
    if not result.success:
        raise QualityGateFailed(result, start, end)
    return result
