"""A model-driven strategy: a fitted model's scores on feature rows become target exposures.

The same object serves the backtest (vectorised and event engines) and the worker: `target_position`
scores the frame's feature columns and holds `sign(score)` (long only unless shorts are allowed) where
|score| exceeds the threshold, flat elsewhere and where a feature is missing. `stream()` gives the worker's
O(1)-per-bar form, `ModelStream`, with exactly the targets of `targets()`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

from traider.strategies.base import Bar, HistoryStream, SignalStream, Strategy

HISTORY_WINDOW = 2_000  # bars the fallback stream keeps per model: an EMA(50) forgets its start within ~1e-35 by then

if TYPE_CHECKING:
    import pandas as pd

    from traider.ml.families.base import ModelFamily


def position_from_score(score: npt.NDArray[np.float64], threshold: float, allow_short: bool) -> npt.NDArray[np.float64]:
    """Return sign(score) where |score| > threshold, else 0 (and 0 for a NaN score); never short unless allowed."""
    target = np.where(np.abs(score) > threshold, np.sign(score), 0.0)
    if not allow_short:
        target = np.maximum(target, 0.0)
    return np.nan_to_num(target)


def bar_features_to_compute(features: Sequence[str], columns: Collection[str]) -> list[str]:
    """Return the model's features that are not `columns` but bar features computed from OHLCV.

    Raise ValueError when a feature is neither (funding, order-flow and book features must come with the bars).
    """
    from traider.features.online import BAR_FEATURES

    missing = [name for name in features if name not in columns]
    if missing and not set(missing) <= set(BAR_FEATURES):
        raise ValueError(f"the bars lack the model's feature column(s) {', '.join(missing)}")
    return missing


def scoring_context(model: ModelFamily) -> int | None:
    """Return how many scored rows, the newest last, a model's score of the newest row depends on.

    1 for row-wise models (trees), the window for sequence models, None for a family this does not know.
    """
    from traider.ml.families.ensemble import EnsembleFamily
    from traider.ml.families.lstm import LstmFamily
    from traider.ml.families.xgb import XGBoostFamily

    if isinstance(model, XGBoostFamily):
        return 1
    if isinstance(model, LstmFamily):
        return int(model.hyperparameters["sequence_length"])
    if isinstance(model, EnsembleFamily):
        contexts = [scoring_context(member) for member, _, _ in model.members]
        known = [context for context in contexts if context is not None]
        return max(known) if len(known) == len(contexts) else None
    return None


class ModelStrategy(Strategy):
    """Positions from a model's scores: +1 / −1 / 0 by the sign of scores beyond `threshold`."""

    name: ClassVar[str] = "model"

    def __init__(
        self, model: ModelFamily, features: Sequence[str], *, threshold: float = 0.0, allow_short: bool = True
    ) -> None:
        self.model, self.features = model, list(features)
        self.threshold, self.allow_short = threshold, allow_short

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Add `score`: the model's score of each row whose features are all known (NaN elsewhere).

        Bar features the frame lacks are computed from its OHLCV with `traider.features.online` (the online
        twin of the dbt models), which is how the worker gets them from the bars it has seen.
        """
        from traider.features.online import bar_features

        missing = bar_features_to_compute(self.features, bars.columns)
        if missing:
            bars = bars.join(bar_features(bars)[missing])
        values = bars[self.features].to_numpy(dtype=np.float64)
        known = ~np.isnan(values).any(axis=1)
        scores = np.full(len(bars), np.nan)
        if known.any():
            scores[known] = self.model.score(values[known])
        return bars.assign(score=scores)

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        """Return sign(score) where |score| > threshold (shorts only if allowed), else 0."""
        import pandas as pd

        target = position_from_score(frame["score"].to_numpy(dtype=np.float64), self.threshold, self.allow_short)
        return pd.Series(target, index=frame.index, dtype="float64")

    def stream(self) -> SignalStream:
        """Return the bar-by-bar form: a `ModelStream`, O(1) per bar with the targets of `targets()`.

        A subclass that changes the vectorised rules, or a model family whose scoring context is unknown,
        gets the generic `HistoryStream` over the last `HISTORY_WINDOW` bars instead.
        """
        own_rules = all(
            getattr(type(self), method) is getattr(ModelStrategy, method)
            for method in ("indicators", "target_position", "targets", "on_bar")
        )
        context = scoring_context(self.model)
        if own_rules and context is not None:
            return ModelStream(self, context)
        return HistoryStream(self, window=HISTORY_WINDOW)


class ModelStream:
    """`ModelStrategy.stream()`: the bar features kept incrementally, only the newest row scored.

    Per bar: `StreamingBarFeatures` gives the bar features; a feature the bars carry (`Bar.extra`: funding,
    order flow, book, or a bar feature the feature store supplies) is taken from there, as `indicators`
    takes a frame's columns; a row with a missing feature scores NaN (flat). The model scores its last
    `context` known rows (1 for row-wise models, the sequence for an LSTM) and the newest score becomes
    the target by `position_from_score`, as in `target_position`; targets are 0 during `warmup_bars`.
    """

    def __init__(self, strategy: ModelStrategy, context: int = 1) -> None:
        from traider.features.streaming import StreamingBarFeatures

        if context < 1:
            raise ValueError(f"a scoring context holds at least one row, not {context}")
        self.context = context
        self._model, self._names = strategy.model, list(strategy.features)
        self._threshold, self._allow_short = strategy.threshold, strategy.allow_short
        self._warmup = strategy.warmup_bars
        self._features = StreamingBarFeatures()
        self._rows: deque[list[float]] = deque(maxlen=context)
        self._carried: set[str] = set()  # features some bar has carried in `extra`: from the bars from then on
        self._seen = 0

    def update(self, bar: Bar) -> float:
        """Fold in `bar` and return the target decided at its close."""
        computed = self._features.update(bar)
        extra: Mapping[str, float] = bar.extra or {}
        row = [self._value(name, extra, computed) for name in self._names]
        self._seen += 1
        if any(math.isnan(value) for value in row):
            return 0.0
        self._rows.append(row)  # context for the rows to come, warm-up or not
        if self._seen <= self._warmup:
            return 0.0
        score = self._model.score(np.array(self._rows, dtype=np.float64))[-1:]
        return float(position_from_score(score, self._threshold, self._allow_short)[0])

    def _value(self, name: str, extra: Mapping[str, float], computed: Mapping[str, float]) -> float:
        carried = extra.get(name)
        if carried is not None:
            self._carried.add(name)
            return float(carried)
        if name in self._carried:  # carried by earlier bars, not this one: unknown, as in a frame's column
            return math.nan
        if name not in computed:  # raises: neither carried nor a bar feature
            bar_features_to_compute(self._names, self._carried | set(extra))
        return computed[name]
