"""A real data_quality run: a failing suite blocks the feature DAG, a passing one releases it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.dags.airflow_env import AirflowEnvironment
from tests.quality.conftest import ohlcv_frame
from traider.db.bulk import write_rows

WINDOW = {"start": "2019-10-11T00:00:00+00:00", "end": "2019-10-13T11:20:00+00:00"}  # the bars end at 11:15


def _quality_events(environment: AirflowEnvironment) -> tuple[int, int]:
    """Return (asset events of market_quality_passed, build_features runs queued by it)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(environment.variables["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as connection:
        events = connection.execute(
            text(
                "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE a.uri = 'traider://quality/market'"
            )
        ).scalar_one()
        queued = connection.execute(
            text("SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = 'build_features'")
        ).scalar_one()
    engine.dispose()
    return int(events), int(queued)


@pytest.mark.usefixtures("clean_tables")
def test_failing_suite_blocks_features_and_passing_suite_releases_them(
    airflow_env: AirflowEnvironment, admin_engine: Engine, shared_data: Path
) -> None:
    bars = ohlcv_frame(shared_data)
    broken = bars.drop(index=range(100, 110))  # ten missing 5-minute bars: a gap the suite must catch
    write_rows(admin_engine, "market.ohlcv", broken)
    before = _quality_events(airflow_env)

    failed = airflow_env.run_dag("data_quality", "2019-10-14T00:00:00+00:00", conf=WINDOW)
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert _quality_events(airflow_env) == before  # no verdict, so build_features is not triggered
    with admin_engine.connect() as connection:
        failures = connection.execute(
            text("SELECT count(*) FROM ops.quality_results WHERE NOT success AND table_name = 'market.ohlcv'")
        ).scalar_one()
        alerts = connection.execute(text("SELECT count(*) FROM ops.alerts WHERE source = 'data_quality'")).scalar_one()
    assert failures >= 1
    assert alerts >= 1

    with admin_engine.begin() as connection:
        connection.execute(text("TRUNCATE market.ohlcv"))
    write_rows(admin_engine, "market.ohlcv", bars)
    passed = airflow_env.run_dag("data_quality", "2019-10-14T01:00:00+00:00", conf=WINDOW)
    assert passed.returncode == 0, passed.stdout[-3000:]
    events, queued = _quality_events(airflow_env)
    assert events == before[0] + 1
    assert queued >= 1
