from __future__ import annotations

from pathlib import Path

import pytest

from traider.errors import ConfigurationError
from traider.ml.spec import load_spec, load_specs

BASE = """
name: {name}
family: {family}
data: {{venue: binance, symbol: BTC/USDT, timeframe: 1h}}
features: [{features}]
label: {{kind: fwd_sign, horizon: 4}}
"""


def _write(directory: Path, name: str, family: str = "xgboost", features: str = "rsi_14", extra: str = "") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(BASE.format(name=name, family=family, features=features) + extra)
    return path


def test_a_spec_loads_with_its_defaults(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, "xgb_one"))
    assert spec.label.column == "fwd_sign_4"
    assert spec.label.end_column == "label_end_4"
    assert (spec.gate.min_sharpe, spec.gate.max_drawdown) == (1.5, 0.05)


def test_a_label_column_as_feature_is_refused_as_look_ahead(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="look-ahead"):
        load_spec(_write(tmp_path, "leaky", features="rsi_14, fwd_return_4"))


@pytest.mark.parametrize(
    ("name", "family", "extra", "message"),
    [
        ("odd", "random_forest", "", "unknown family 'random_forest'"),
        ("typo", "xgboost", "walk_forward: {train_bar: 10}\n", "walk_forward.train_bar"),
        ("ens", "ensemble", "", "needs members"),
    ],
)
def test_bad_specs_are_one_line_errors_naming_the_file(
    tmp_path: Path, name: str, family: str, extra: str, message: str
) -> None:
    path = _write(tmp_path, name, family=family, extra=extra)
    with pytest.raises(ConfigurationError, match=message) as error:
        load_spec(path)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_the_name_must_match_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "alpha")
    path.rename(tmp_path / "beta.yaml")
    with pytest.raises(ConfigurationError, match="must match the file name"):
        load_spec(tmp_path / "beta.yaml")


def test_load_specs_puts_ensembles_last_and_checks_their_members(tmp_path: Path) -> None:
    _write(tmp_path, "a_ensemble", family="ensemble", extra="members: [b_xgb]\n")
    _write(tmp_path, "b_xgb")
    assert list(load_specs(tmp_path)) == ["b_xgb", "a_ensemble"]
    _write(tmp_path, "c_ensemble", family="ensemble", extra="members: [missing]\n")
    with pytest.raises(ConfigurationError, match="unknown member"):
        load_specs(tmp_path)


def test_the_repository_specs_are_valid() -> None:
    specs = load_specs()
    assert {spec.family for spec in specs.values()} >= {"xgboost", "lstm", "ensemble"}
