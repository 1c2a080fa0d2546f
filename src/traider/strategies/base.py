"""The strategy contract (interface version 1), shared by the vectorised backtest, the event replay and the worker.

A strategy has three methods, in the spirit of freqtrade's `IStrategy`:

- `indicators(bars)` adds indicator columns to OHLCV bars (indexed by bar open time, UTC);
- `target_position(frame)` turns them into a target exposure per bar, a fraction of equity in [-1, 1],
  decided at that bar's close;
- `on_bar(history)` gives the target for the newest bar of a history window. Its default derives it from
  the first two, so one definition serves all three places;
- `stream()` returns a `SignalStream` whose `update(bar)` gives the target as each bar closes: what the
  event-driven engine and the live worker call. The default replays `on_bar` over the growing history
  (correct for any causal strategy, but quadratic); a strategy overrides it with O(1) incremental
  updates that must give exactly the targets of `targets()` (tested for each strategy).

Both vectorised methods must be causal: the value at bar t may use bars up to and including t only.
`traider.strategies.lookahead.check_lookahead` verifies that by re-running on truncated data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol

if TYPE_CHECKING:
    import pandas as pd

STRATEGY_INTERFACE_VERSION = 1
BAR_COLUMNS = ("open", "high", "low", "close", "volume")


class Bar(NamedTuple):
    """One closed OHLCV bar; `ts` is its open time in nanoseconds since the epoch (UTC).

    `extra` holds the bar frame's other columns (e.g. `funding_rate`, `spot_close`) when it has any.
    """

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    extra: Mapping[str, float] | None = None


class SignalStream(Protocol):
    """A strategy's incremental form: one closed bar in, the target exposure for it out."""

    def update(self, bar: Bar) -> float:
        """Return the target exposure decided at `bar`'s close."""
        ...


class HistoryStream:
    """The default `SignalStream`: keeps the bars and asks `on_bar` about the whole history each time.

    With `window`, only the last `window` bars are kept: exact for indicators that look back less than that
    (and, for EMAs, to within their decay over the window), and bounded in time and memory for the worker.
    """

    def __init__(self, strategy: Strategy, window: int | None = None) -> None:
        from collections import deque

        self._strategy = strategy
        self._rows: deque[dict[str, float]] = deque(maxlen=window)

    def update(self, bar: Bar) -> float:
        """Append `bar` and return the strategy's target for it."""
        import pandas as pd

        self._rows.append({"ts": bar.ts, **dict(zip(BAR_COLUMNS, bar[1:6], strict=True)), **(bar.extra or {})})
        frame = pd.DataFrame(self._rows)
        frame.index = pd.to_datetime(frame.pop("ts"), utc=True)
        return self._strategy.on_bar(frame)


class Strategy(ABC):
    """A trading strategy: from OHLCV bars to a target exposure per bar."""

    interface_version: ClassVar[int] = STRATEGY_INTERFACE_VERSION
    name: ClassVar[str]
    warmup_bars: int = 0  # bars before the first meaningful target; their targets are 0

    @abstractmethod
    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Return `bars` with indicator columns added; row t may only use rows up to t."""

    @abstractmethod
    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        """Return the target exposure per bar in [-1, 1], decided at the bar's close."""

    def targets(self, bars: pd.DataFrame) -> pd.Series:
        """Return the target exposure for every bar, clipped to [-1, 1], zero during the warm-up."""
        target = self.target_position(self.indicators(bars)).astype("float64").clip(-1.0, 1.0).fillna(0.0)
        if self.warmup_bars:
            target.iloc[: self.warmup_bars] = 0.0
        return target

    def on_bar(self, history: pd.DataFrame) -> float:
        """Return the target exposure for the newest bar of `history` (the event engine's and worker's call)."""
        if history.empty:
            return 0.0
        return float(self.targets(history).iloc[-1])

    def stream(self) -> SignalStream:
        """Return a fresh incremental signal; override with an O(1) update where the indicators allow."""
        return HistoryStream(self)
