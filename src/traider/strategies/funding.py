"""The funding-rate drift alpha on perpetuals: hold the side that is paid funding when drift predicts it.

A perpetual's funding rate follows its premium over the index (the basis) and persists: a market that has
paid positive funding tends to keep paying it. The strategy predicts the next funding rate as

    predicted = EMA(last settled funding rate, `span` bars) + `basis_weight` × EMA(basis, `span` bars)

where basis = perpetual close / spot close − 1 (0 when no spot price is given), and holds
`−sign(predicted) × min(1, |predicted| / full_size_rate)` of equity when |predicted| ≥ `threshold`, flat
otherwise: short when longs are predicted to pay, long when shorts are. The backtest charges and pays the
actual funding at each funding time (`traider.backtest.costs.funding`), plus fees and slippage on every
rebalance, so the alpha is only what is left after costs and price moves.

Its bar frame needs a `funding_rate` column (the last rate settled at or before each bar's close:
`with_funding`) and may carry `spot_close`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from traider.strategies.base import Bar, SignalStream, Strategy
from traider.strategies.indicators import StreamingEma, ema

if TYPE_CHECKING:
    import pandas as pd


class FundingDrift(Strategy):
    """Perpetuals: position against the predicted funding rate, sized by its magnitude."""

    name: ClassVar[str] = "funding_drift"

    def __init__(
        self,
        span: int = 24,
        threshold: float = 0.00005,
        full_size_rate: float = 0.0003,
        basis_weight: float = 0.1,
        min_change: float = 0.25,
    ) -> None:
        if span < 1:
            raise ValueError(f"span must be at least 1 bar, not {span}")
        if not 0.0 <= threshold < full_size_rate:
            raise ValueError(f"need 0 <= threshold < full_size_rate, not {threshold} and {full_size_rate}")
        if not 0.0 < min_change <= 1.0:
            raise ValueError(f"min_change must be in (0, 1], not {min_change}")
        self.span, self.threshold, self.full_size_rate = span, threshold, full_size_rate
        self.basis_weight, self.min_change = basis_weight, min_change
        self.warmup_bars = span

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Add `predicted_funding` from the funding-rate and basis EMAs."""
        if "funding_rate" not in bars.columns:
            raise ValueError("funding_drift needs a funding_rate column: build the bars with with_funding()")
        rate = bars["funding_rate"].fillna(0.0)
        basis = bars["close"] / bars["spot_close"] - 1.0 if "spot_close" in bars.columns else rate * 0.0
        predicted = ema(rate, self.span) + self.basis_weight * ema(basis.fillna(0.0), self.span)
        return bars.assign(predicted_funding=predicted)

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        """Return −sign(predicted) × size, in steps of `min_change` so small wiggles cause no trades."""
        import numpy as np

        values = [self._size(value) for value in frame["predicted_funding"].to_numpy(dtype=np.float64).tolist()]
        import pandas as pd

        return pd.Series(values, index=frame.index, dtype="float64")

    def stream(self) -> SignalStream:
        """Return the O(1) incremental form of `targets()`."""
        return _FundingDriftStream(self)

    def _size(self, predicted: float) -> float:
        if predicted != predicted or abs(predicted) < self.threshold:  # noqa: PLR0124 - NaN
            return 0.0
        size = min(1.0, abs(predicted) / self.full_size_rate)
        size = max(self.min_change, round(size / self.min_change) * self.min_change)
        return -size if predicted > 0 else size


class _FundingDriftStream:
    __slots__ = ("_basis", "_rate", "_seen", "_strategy")

    def __init__(self, strategy: FundingDrift) -> None:
        self._strategy = strategy
        self._rate, self._basis = StreamingEma(strategy.span), StreamingEma(strategy.span)
        self._seen = 0

    def update(self, bar: Bar) -> float:
        extra = bar.extra or {}
        if "funding_rate" not in extra:
            raise ValueError("funding_drift needs a funding_rate column: build the bars with with_funding()")
        rate = extra["funding_rate"]
        spot = extra.get("spot_close")
        basis = bar.close / spot - 1.0 if spot is not None else rate * 0.0
        predicted = self._rate.update(0.0 if rate != rate else rate) + self._strategy.basis_weight * self._basis.update(  # noqa: PLR0124
            0.0 if basis != basis else basis  # noqa: PLR0124
        )
        self._seen += 1
        if self._seen <= self._strategy.warmup_bars:
            return 0.0
        return self._strategy._size(predicted)


def with_funding(bars: pd.DataFrame, funding: pd.DataFrame, spot: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return perpetual `bars` with `funding_rate` (last settled at or before each bar's close) and `spot_close`.

    `funding` has `ts` and `rate` (a `market.funding_rates` frame); `spot` is an OHLCV frame of the index or
    spot market, aligned by bar open time. A bar's close is taken as the next bar's open time.
    """
    import pandas as pd

    from traider.backtest.vectorised import infer_bar_length

    stamps = pd.DatetimeIndex(bars.index)
    length = pd.Timedelta(infer_bar_length(stamps.as_unit("ns").asi8), unit="ns")
    closes = pd.DataFrame({"close_time": stamps + length}, index=stamps)
    rates = funding[["ts", "rate"]].sort_values("ts").rename(columns={"ts": "close_time", "rate": "funding_rate"})
    rates["close_time"] = pd.DatetimeIndex(rates["close_time"]).as_unit(closes["close_time"].dt.unit)
    joined = pd.merge_asof(closes, rates, on="close_time", direction="backward")
    result = bars.assign(funding_rate=joined["funding_rate"].to_numpy())
    if spot is not None:
        result = result.assign(spot_close=spot["close"].reindex(stamps).to_numpy())
    return result
