"""`ModelStrategy.stream()`: bar by bar, exactly the targets of the vectorised `targets()`, on real data.

Real models: XGBoost and LSTM families fitted on the bar features of real series (and on real funding
features carried by the bars), then streamed over the whole series, warm-up and all.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from tests.features.market import UNITTEST_5M, XRP_FUNDING, XRP_PERP_5M, read_rows
from traider.features import online
from traider.ml.families.base import Matrix, ModelFamily, Task, Vector
from traider.ml.families.ensemble import EnsembleFamily
from traider.ml.families.lstm import LstmFamily
from traider.ml.families.xgb import XGBoostFamily
from traider.ml.strategy import HISTORY_WINDOW, ModelStrategy, ModelStream, position_from_score
from traider.strategies.base import BAR_COLUMNS, Bar, HistoryStream

BAR_INPUTS = ["log_return", "realised_vol_24", "rsi_14", "macd_hist", "bollinger_pctb_20", "atr_14", "ema_ratio_50"]
FUNDING_INPUTS = ["funding_rate", "funding_drift_3", "rsi_14", "log_return"]


def ohlcv(shared_data: Path, relative: Path) -> pd.DataFrame:
    """Return a real series' OHLCV indexed by open time."""
    return read_rows(shared_data, relative).set_index("ts")[list(BAR_COLUMNS)]


def fit(family: ModelFamily, frame: pd.DataFrame, features: list[str], rows: int) -> ModelFamily:
    """Fit on the first `rows` bars: whether the next close is higher, from the rows whose features are known."""
    train = frame.iloc[:rows]
    label = (train["close"].shift(-1) > train["close"]).astype("float64")
    known = train[features].notna().all(axis=1) & train["close"].shift(-1).notna()
    family.fit(train.loc[known, features].to_numpy(dtype=np.float64), label[known].to_numpy())
    return family


def replay(strategy: ModelStrategy, bars: pd.DataFrame) -> list[float]:
    """Return the stream's target for each bar, extra columns carried in `Bar.extra` as the event engine does."""
    stream = strategy.stream()
    stamps = pd.DatetimeIndex(bars.index).as_unit("ns").asi8.tolist()
    extra_names = [name for name in bars.columns if name not in BAR_COLUMNS]
    extras = bars[extra_names].to_dict("records") if extra_names else [None] * len(bars)
    rows = bars[list(BAR_COLUMNS)].itertuples(index=False)
    return [stream.update(Bar(ts, *row, extra)) for ts, row, extra in zip(stamps, rows, extras, strict=True)]


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> pd.DataFrame:
    """UNITTEST/BTC 5m (5,760 real bars: more than the old stream's 2,000-bar window)."""
    return ohlcv(shared_data, UNITTEST_5M)


@pytest.fixture(scope="module")
def xgboost_model(btc: pd.DataFrame) -> ModelFamily:
    frame = btc.join(online.bar_features(btc))
    model = XGBoostFamily({"n_estimators": 40, "subsample": 1.0, "colsample_bytree": 1.0}, task="classification")
    return fit(model, frame, BAR_INPUTS, 2_500)


@pytest.mark.parametrize(("threshold", "allow_short"), [(0.0, True), (0.05, True), (0.05, False)])
def test_streamed_targets_equal_the_vectorised_targets(
    btc: pd.DataFrame, xgboost_model: ModelFamily, threshold: float, allow_short: bool
) -> None:
    strategy = ModelStrategy(xgboost_model, BAR_INPUTS, threshold=threshold, allow_short=allow_short)
    assert isinstance(strategy.stream(), ModelStream)
    expected = strategy.targets(btc).tolist()
    assert replay(strategy, btc) == expected
    assert set(expected) == ({-1.0, 0.0, 1.0} if allow_short else {0.0, 1.0})
    assert len(btc) > HISTORY_WINDOW


def test_the_warm_up_is_flat(btc: pd.DataFrame, xgboost_model: ModelFamily) -> None:
    strategy = ModelStrategy(xgboost_model, BAR_INPUTS)
    strategy.warmup_bars = 300
    streamed = replay(strategy, btc.iloc[:600])
    assert streamed == strategy.targets(btc.iloc[:600]).tolist()
    assert set(streamed[:300]) == {0.0} and set(streamed[300:]) != {0.0}


def test_a_stream_scores_one_row_per_bar_in_well_under_a_millisecond(
    btc: pd.DataFrame, xgboost_model: ModelFamily
) -> None:
    stream = ModelStrategy(xgboost_model, BAR_INPUTS).stream()
    spent = []
    for ts, row in zip(range(len(btc)), btc.itertuples(index=False), strict=True):
        start = time.perf_counter_ns()
        stream.update(Bar(ts, *row))
        spent.append(time.perf_counter_ns() - start)
    assert np.median(spent) < 1_000_000, f"median update {np.median(spent) / 1000:.0f} µs"


def test_features_carried_by_the_bars_come_from_the_bars(shared_data: Path) -> None:
    """Real funding features as of each bar (NaN before the first settlement), and RSI from the feature store."""
    bars = ohlcv(shared_data, XRP_PERP_5M)
    settlements = read_rows(shared_data, XRP_FUNDING).rename(columns={"ts": "settled_at"})
    timed = bars.assign(available_at=bars.index + pd.Timedelta(minutes=5))
    funding = online.funding_as_of(timed, online.funding_features(settlements))[["funding_rate", "funding_drift_3"]]
    stored_rsi = online.bar_features(bars)["rsi_14"].shift(1)  # a carried bar feature wins over the computed one
    frame = bars.join(funding).assign(rsi_14=stored_rsi)
    assert frame["funding_rate"].isna().any() and frame["funding_rate"].notna().sum() > 500
    model = XGBoostFamily({"n_estimators": 30}, task="classification", seed=3)
    strategy = ModelStrategy(fit(model, frame.join(online.bar_features(bars)[["log_return"]]), FUNDING_INPUTS, 1_500),
                             FUNDING_INPUTS)  # fmt: skip
    expected = strategy.targets(frame).tolist()
    assert replay(strategy, frame) == expected
    assert {-1.0, 1.0} <= set(expected)
    computed = ModelStrategy(model, FUNDING_INPUTS).targets(frame.drop(columns="rsi_14")).tolist()
    assert computed != expected and replay(strategy, frame.drop(columns="rsi_14")) == computed


def test_a_feature_neither_carried_nor_computed_is_refused(btc: pd.DataFrame, xgboost_model: ModelFamily) -> None:
    strategy = ModelStrategy(xgboost_model, ["funding_rate", *BAR_INPUTS[1:]])
    with pytest.raises(ValueError, match="lack the model's feature column") as vectorised:
        strategy.targets(btc.iloc[:50])
    with pytest.raises(ValueError, match="lack the model's feature column") as streamed:
        replay(strategy, btc.iloc[:50])
    assert str(streamed.value) == str(vectorised.value)


def test_a_sequence_model_is_scored_over_its_window(btc: pd.DataFrame) -> None:
    frame = btc.iloc[:1_200]
    features = frame.join(online.bar_features(frame))
    model = LstmFamily({"sequence_length": 6, "hidden_size": 4, "epochs": 2}, task="classification", seed=2)
    strategy = ModelStrategy(fit(model, features, BAR_INPUTS, 800), BAR_INPUTS)
    stream = strategy.stream()
    assert isinstance(stream, ModelStream)
    expected = strategy.targets(frame).tolist()
    assert replay(strategy, frame) == expected
    assert {-1.0, 1.0} <= set(expected)


def test_an_ensemble_streams_with_its_members_longest_window() -> None:
    members = [
        {"family": "xgboost", "columns": [0, 1]},
        {"family": "lstm", "columns": [1], "hyperparameters": {"sequence_length": 5}},
    ]
    stream = ModelStrategy(EnsembleFamily({"members": members}, task="classification"), ["rsi_14", "atr_14"]).stream()
    assert isinstance(stream, ModelStream) and stream.context == 5
    only_trees = EnsembleFamily({"members": members[:1]}, task="classification")
    assert ModelStrategy(only_trees, ["rsi_14", "atr_14"]).stream().context == 1  # type: ignore[attr-defined]


class _Linear(ModelFamily):
    """A family the stream does not know: scored through the history window."""

    name: ClassVar[str] = "linear"

    def fit(self, features: Matrix, labels: Vector, validation: tuple[Matrix, Vector] | None = None) -> None:
        """Nothing to fit."""

    def score(self, features: Matrix) -> Vector:
        return np.tanh(features.sum(axis=1))

    def save(self, directory: Path) -> None:
        """Nothing to save."""

    @classmethod
    def load(cls, directory: Path, hyperparameters: Mapping[str, Any], *, task: Task, seed: int = 7) -> _Linear:
        return cls(hyperparameters, task=task, seed=seed)


class _Contrarian(ModelStrategy):
    """Changes the vectorised rule: the streaming form must not assume ModelStrategy's."""

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        return -super().target_position(frame)


def test_unknown_families_and_changed_rules_fall_back_to_the_history_stream(
    btc: pd.DataFrame, xgboost_model: ModelFamily
) -> None:
    linear = ModelStrategy(_Linear({}, task="regression"), ["rsi_14", "macd_hist"])
    contrarian = _Contrarian(xgboost_model, BAR_INPUTS)
    for strategy in (linear, contrarian):
        assert isinstance(strategy.stream(), HistoryStream)
        bars = btc.iloc[:120]
        assert replay(strategy, bars) == strategy.targets(bars).tolist()


def test_the_threshold_rule() -> None:
    scores = np.array([-0.5, -0.05, 0.0, 0.05, 0.5, np.nan])
    assert position_from_score(scores, 0.1, True).tolist() == [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert position_from_score(scores, 0.0, False).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]
