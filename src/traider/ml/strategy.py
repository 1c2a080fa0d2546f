"""A model-driven strategy: a fitted model's scores on feature rows become target exposures.

The same object serves the backtest (vectorised and event engines) and the worker: `target_position`
scores the frame's feature columns and holds `sign(score)` (long only unless shorts are allowed) where
|score| exceeds the threshold, flat elsewhere and where a feature is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from traider.strategies.base import HistoryStream, SignalStream, Strategy

HISTORY_WINDOW = 2_000  # bars the worker keeps per model: an EMA(50) forgets its start within ~1e-35 by then

if TYPE_CHECKING:
    import pandas as pd

    from traider.ml.families.base import ModelFamily


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
        from traider.features.online import BAR_FEATURES, bar_features

        missing = [name for name in self.features if name not in bars.columns]
        if missing and set(missing) <= set(BAR_FEATURES):
            bars = bars.join(bar_features(bars)[missing])
            missing = []
        if missing:
            raise ValueError(f"the bars lack the model's feature column(s) {', '.join(missing)}")
        values = bars[self.features].to_numpy(dtype=np.float64)
        known = ~np.isnan(values).any(axis=1)
        scores = np.full(len(bars), np.nan)
        if known.any():
            scores[known] = self.model.score(values[known])
        return bars.assign(score=scores)

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        """Return sign(score) where |score| > threshold (shorts only if allowed), else 0."""
        score = frame["score"].to_numpy(dtype=np.float64)
        target = np.where(np.abs(score) > self.threshold, np.sign(score), 0.0)
        if not self.allow_short:
            target = np.maximum(target, 0.0)
        import pandas as pd

        return pd.Series(np.nan_to_num(target), index=frame.index, dtype="float64")

    def stream(self) -> SignalStream:
        """Return the bar-by-bar form: features recomputed over the last `HISTORY_WINDOW` bars, then scored."""
        return HistoryStream(self, window=HISTORY_WINDOW)
