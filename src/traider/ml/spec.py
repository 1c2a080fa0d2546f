"""Model specs: one YAML file per model in `models/`, validated into a `ModelSpec`.

A spec names the data (venue, symbol, timeframe), the feature columns of `features.training_set`, the
label (`fwd_sign` or `fwd_return` over `horizon` bars), the model family and its hyperparameters and search
space, the walk-forward scheme, how predictions become positions, the costs, and the gate thresholds.
A new model is a new file; `load_specs()` reads them all, and a bad file is a one-line error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from traider.errors import ConfigurationError

SPEC_DIRECTORY = Path(__file__).resolve().parents[3] / "models"
LABEL_PREFIXES = ("fwd_", "label_")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Strict):
    """Which rows of `features.training_set` to train on."""

    venue: str
    symbol: str
    timeframe: str = "1h"
    start: str | None = None
    end: str | None = None


class LabelSpec(_Strict):
    """`fwd_sign`: the sign of the forward log return (classification); `fwd_return`: its value (regression)."""

    kind: Literal["fwd_sign", "fwd_return"] = "fwd_sign"
    horizon: int = Field(1, ge=1)

    @property
    def column(self) -> str:
        """Return the label column in the training set, e.g. `fwd_sign_4`."""
        return f"{self.kind}_{self.horizon}"

    @property
    def return_column(self) -> str:
        """Return the forward-return column of the same horizon."""
        return f"fwd_return_{self.horizon}"

    @property
    def end_column(self) -> str:
        """Return the column holding when the label becomes known (for purging)."""
        return f"label_end_{self.horizon}"


class WalkForwardSettings(_Strict):
    """Purged walk-forward CV: window lengths in bars."""

    scheme: Literal["rolling", "expanding"] = "expanding"
    train_bars: int = Field(500, ge=10)
    test_bars: int = Field(200, ge=2)
    purge_bars: int = Field(0, ge=0)
    embargo_bars: int = Field(0, ge=0)
    validation_fraction: float = Field(0.2, gt=0.0, lt=0.5)


class TradingSettings(_Strict):
    """How scores become target exposures, and the costs of trading them."""

    threshold: float = Field(0.0, ge=0.0)
    allow_short: bool = True
    venue: str = "binance"
    market_type: Literal["spot", "linear_perp"] = "spot"
    slippage_bps: float = Field(2.0, ge=0.0)


class GateThresholds(_Strict):
    """What a version must reach out of sample to take the alias `production`."""

    min_sharpe: float = 1.5
    max_drawdown: float = Field(0.05, gt=0.0, le=1.0)
    min_dsr_probability: float = Field(0.95, ge=0.0, le=1.0)


class ModelSpec(_Strict):
    """One model: data, features, label, family, hyperparameters, search space, walk-forward, trading, gate."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    family: str
    data: DataSpec
    features: list[str] = Field(min_length=1)
    label: LabelSpec = LabelSpec()
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    search_space: dict[str, list[Any]] = Field(default_factory=dict)
    members: list[str] = Field(default_factory=list)  # ensemble: names of member specs
    weights: list[float] = Field(default_factory=list)
    walk_forward: WalkForwardSettings = WalkForwardSettings()
    trading: TradingSettings = TradingSettings()
    gate: GateThresholds = GateThresholds()
    seed: int = 7

    @field_validator("features")
    @classmethod
    def _no_labels_as_features(cls, features: list[str]) -> list[str]:
        leaking = [name for name in features if name.startswith(LABEL_PREFIXES)]
        if leaking:
            raise ValueError(f"label columns cannot be features (look-ahead): {', '.join(leaking)}")
        if len(set(features)) != len(features):
            raise ValueError("features are listed more than once")
        return features

    @model_validator(mode="after")
    def _family_known(self) -> ModelSpec:
        from traider.ml.families import FAMILIES

        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; known: {', '.join(sorted(FAMILIES))}")
        if self.family == "ensemble" and not self.members:
            raise ValueError("an ensemble needs members (names of other specs)")
        if self.weights and len(self.weights) != len(self.members):
            raise ValueError("weights must give one weight per member")
        return self


def load_spec(path: Path) -> ModelSpec:
    """Read and validate one spec file; a problem is a `ConfigurationError` naming the file."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"model spec {path}: cannot read it ({error})") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"model spec {path}: expected a mapping at the top level")
    try:
        spec = ModelSpec(**raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "spec"
        raise ConfigurationError(f"model spec {path}: {where}: {first['msg']}") from None
    if spec.name != path.stem:
        raise ConfigurationError(f"model spec {path}: name {spec.name!r} must match the file name {path.stem!r}")
    return spec


def load_specs(directory: Path = SPEC_DIRECTORY) -> dict[str, ModelSpec]:
    """Return every spec in `directory` by name, ensembles last (they need their members)."""
    specs = {spec.name: spec for spec in (load_spec(path) for path in sorted(directory.glob("*.yaml")))}
    for spec in specs.values():
        missing = [member for member in spec.members if member not in specs]
        if missing:
            raise ConfigurationError(f"model spec {spec.name}: unknown member(s) {', '.join(missing)}")
    return dict(sorted(specs.items(), key=lambda item: item[1].family == "ensemble"))
