"""A real build_features run: its one task runs `dbt build` and the marts hold the checked bars."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.dags.airflow_env import AirflowEnvironment
from tests.features.market import UNITTEST_5M, UNITTEST_WINDOW, gate, load_file, read_rows


@pytest.mark.usefixtures("clean_tables", "dbt_schemas_dropped_afterwards")
def test_build_features_dag_builds_the_marts_from_checked_bars(
    airflow_env: AirflowEnvironment, admin_engine: Engine, app_engine: Engine, shared_data: Path, tmp_path: Path
) -> None:
    load_file(app_engine, shared_data, UNITTEST_5M)
    gate(app_engine, UNITTEST_WINDOW, "dag-test", tmp_path)

    run = airflow_env.run_dag("build_features", "2018-01-31T00:00:00+00:00")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    bars = read_rows(shared_data, UNITTEST_5M).set_index("ts").resample("1h").size()
    with app_engine.connect() as connection:  # the application role reads the marts
        features = connection.execute(text("SELECT count(*) FROM features.features")).scalar_one()
        labelled = connection.execute(text("SELECT count(fwd_return_1) FROM features.training_set")).scalar_one()
    assert features == int((bars == 12).sum())
    assert labelled == features - 1  # the last bar has no next bar yet
    docs = Path(airflow_env.variables["TRAIDER_HOME"]) / "dbt_docs" / "static_index.html"
    assert docs.is_file()
