"""One `dbt build` of the features on real data: every model built, every dbt test passed, the expected rows."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from tests.features.conftest import BuiltFeatures
from tests.features.market import (
    UNITTEST_1M,
    UNITTEST_5M,
    XRP_ETH_5M,
    XRP_PERP_5M,
    XRP_PERP_WINDOWS,
    passed_rows,
    read_rows,
)
from traider.features.dbt_runner import PROJECT_DIR, FeatureBuildError, build_features


def _complete_hours(bars: pd.DataFrame, minutes: int = 5) -> int:
    """Count the hours for which every sub-bar is there (independently of the models)."""
    per_hour = bars.set_index("ts").resample("1h").size()
    return int((per_hour == 60 // minutes).sum())


def test_build_succeeds_with_every_model_and_every_test_passing(built_features: BuiltFeatures) -> None:
    result = built_features.result
    uuid.UUID(result.invocation_id)
    assert set(result.models) == {path.stem for path in (PROJECT_DIR / "models").rglob("*.sql")}
    manifest = json.loads((built_features.settings.home / "dbt" / "target" / "manifest.json").read_text())
    tests = [node for node in manifest["nodes"] if node.startswith("test.")] + list(manifest["unit_tests"])
    assert len(manifest["unit_tests"]) >= 5
    assert result.tests_passed == len(tests)
    assert result.tests_failed == 0
    assert not result.full_refresh
    assert result.docs is not None and result.docs.is_file()
    assert result.docs.parent == built_features.settings.home / "dbt_docs"
    catalog = json.loads((result.docs.parent / "catalog.json").read_text())
    assert "model.traider.features" in catalog["nodes"]


def test_marts_hold_one_row_per_complete_checked_bar(built_features: BuiltFeatures, shared_data: Path) -> None:
    expected = {
        "UNITTEST/BTC": _complete_hours(read_rows(shared_data, UNITTEST_5M)),
        "XRP/USDT:USDT": _complete_hours(passed_rows(read_rows(shared_data, XRP_PERP_5M), XRP_PERP_WINDOWS)),
        "XRP/ETH": _complete_hours(read_rows(shared_data, XRP_ETH_5M)),
    }
    assert _complete_hours(read_rows(shared_data, UNITTEST_1M), minutes=1) > 0  # loaded, but never checked
    with built_features.admin.connect() as connection:
        for mart in ("features.features", "features.training_set"):
            counts = dict(
                connection.execute(
                    text(f"SELECT symbol, count(*) FROM {mart} WHERE timeframe = '1h' GROUP BY symbol")
                ).all()
            )
            assert counts == expected, mart
        tables = set(
            connection.execute(
                text("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                     "WHERE table_schema IN ('staging', 'intermediate', 'features')")
            ).scalars()
        )  # fmt: skip
    assert {"staging.stg_ohlcv", "intermediate.int_bars", "features.features", "features.training_set"} <= tables


def test_application_role_reads_the_marts_only(built_features: BuiltFeatures) -> None:
    with built_features.app.connect() as connection:
        for mart in ("features.features", "features.training_set"):
            assert connection.execute(text(f"SELECT count(*) FROM {mart}")).scalar_one() > 0
    for private in ("intermediate.int_bars", "staging.stg_ohlcv"):
        with built_features.app.connect() as connection, pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text(f"SELECT count(*) FROM {private}"))


def test_failing_model_raises_one_line_naming_it(built_features: BuiltFeatures) -> None:
    with pytest.raises(FeatureBuildError) as raised:
        build_features(built_features.settings, select=["int_bars"], variables={"recompute_lookback": "banana"})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("dbt build failed: 1 of ")
    assert "model int_bars" in message and "banana" in message
    assert raised.value.failed == ("int_bars",)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"timeframes": ["7m"]}, "timeframes: timeframe '7m' does not divide one day"),
        ({"timeframes": ["1w"]}, "timeframes: timeframe '1w' is not like 5m, 1h or 1d"),
        ({"timeframes": "1h"}, "timeframes must be a non-empty list"),
        ({"horizons": [4, 0]}, "horizons must be whole numbers of bars >= 1, not 0"),
        ({"horizons": [1], "start": object()}, "dbt vars must be JSON values"),
    ],
)
def test_bad_variables_raise_one_line_before_dbt_runs(
    built_features: BuiltFeatures, variables: dict[str, object], expected: str
) -> None:
    with pytest.raises(FeatureBuildError, match="^" + re.escape(expected)) as raised:
        build_features(built_features.settings, variables=variables)
    assert "\n" not in str(raised.value)


def test_missing_project_raises_one_line(built_features: BuiltFeatures, tmp_path: Path) -> None:
    with pytest.raises(FeatureBuildError, match=f"^no dbt project at {re.escape(str(tmp_path))}"):
        build_features(built_features.settings, project_dir=tmp_path)


def test_project_dbt_cannot_load_raises_dbts_error_on_one_line(built_features: BuiltFeatures, tmp_path: Path) -> None:
    project = tmp_path / "dbt"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    settings = (project / "dbt_project.yml").read_text().replace("profile: traider", "profile: no_such_profile")
    (project / "dbt_project.yml").write_text(settings)
    with pytest.raises(FeatureBuildError) as raised:
        build_features(built_features.settings, project_dir=project)
    message = str(raised.value)
    assert message.startswith("dbt build stopped before running anything: ")
    assert "no_such_profile" in message and "\n" not in message
