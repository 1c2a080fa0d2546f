"""Model families by name: a new family is one new class registered here."""

from __future__ import annotations

from collections.abc import Mapping

from traider.ml.families.base import ModelFamily
from traider.ml.families.ensemble import EnsembleFamily
from traider.ml.families.lstm import LstmFamily
from traider.ml.families.xgb import XGBoostFamily

FAMILIES: Mapping[str, type[ModelFamily]] = {
    XGBoostFamily.name: XGBoostFamily,
    LstmFamily.name: LstmFamily,
    EnsembleFamily.name: EnsembleFamily,
}
