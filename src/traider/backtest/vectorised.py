"""The vectorised bar engine: target exposures → positions → equity, with fees and slippage always in.

Conventions:
- a target is a fraction of equity in [-1, 1], decided at a bar's close;
- with `execution="next_open"` (default) it is executed at the next bar's open, so no decision can use
  the price it trades at; `execution="close"` trades at the deciding bar's close (for comparisons with
  engines that do so);
- a buy pays `price × (1 + slippage)`, a sell receives `price × (1 − slippage)`, and the fee is
  `fee_rate × |units| × fill price`; fees and slippage are reported separately;
- the position is rebalanced only when the target changes, sized by `traider.execution.sizing` (the
  rule the event engine and the worker share): after the trade the position's value at the fill price
  is `target ×` the equity left after the fee. Between changes the units are held, so price drift
  causes no turnover;
- funding of perpetuals, when given, is paid or received on the position held at each funding time;
- equity is marked at each bar's close: cash + units × close.

The path is one numba loop over the bars, so a million bars with thousands of trades run in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from traider.execution.sizing import rebalance_quantity

if TYPE_CHECKING:
    import pandas as pd

    from traider.backtest.costs.model import CostModel

Execution = Literal["next_open", "close"]


@dataclass(frozen=True)
class BarCosts:
    """Costs of a bar-level fill: the fee rate of the liquidity taken and slippage in basis points."""

    fee_rate: float
    slippage_bps: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.fee_rate < 0.1:
            raise ValueError(f"fee_rate {self.fee_rate} is not a fraction in [0, 0.1)")
        if not 0.0 <= self.slippage_bps < 1000.0:
            raise ValueError(f"slippage_bps {self.slippage_bps} is not in [0, 1000)")

    @classmethod
    def from_cost_model(cls, model: CostModel, *, slippage_bps: float = 0.0, maker: bool = False) -> BarCosts:
        """Take the fee rate of the cost model's venue and volume tier (taker unless `maker`)."""
        rate = model.fee_schedule.rate(
            model.venue, model.market_type, "maker" if maker else "taker", model.volume_30d_usd
        )
        return cls(fee_rate=float(rate), slippage_bps=slippage_bps)


@dataclass(frozen=True)
class VectorisedResult:
    """The path of a backtest: equity, units and exposure per bar, the fills, and the costs and funding."""

    equity: pd.Series
    units: pd.Series
    exposure: pd.Series
    trades: pd.DataFrame
    fees_paid: float
    slippage_paid: float
    funding_received: float = 0.0  # net funding payments (negative when the position paid)


def run_vectorised(
    bars: pd.DataFrame,
    targets: pd.Series,
    *,
    costs: BarCosts,
    initial_equity: float = 10_000.0,
    execution: Execution = "next_open",
    funding: pd.DataFrame | None = None,
) -> VectorisedResult:
    """Simulate holding `targets` (fractions of equity per bar) on `bars` with costs; see the module doc.

    `funding` (columns `ts`, `rate`, `mark_price`: a perpetual's funding times) charges or pays the position
    held just before each funding time, as `traider.backtest.costs.funding` defines.
    """
    import pandas as pd

    if not bars.index.equals(targets.index):
        raise ValueError("targets must have exactly the bars' index")
    if initial_equity <= 0:
        raise ValueError(f"initial_equity must be positive, not {initial_equity}")
    close = bars["close"].to_numpy(dtype="float64")
    price = close if execution == "close" else bars["open"].to_numpy(dtype="float64")
    wanted = np.clip(targets.fillna(0.0).to_numpy(dtype="float64"), -1.0, 1.0)
    executed = wanted if execution == "close" else np.concatenate(([0.0], wanted[:-1]))
    changes = np.flatnonzero(np.diff(np.concatenate(([0.0], executed))) != 0.0)
    before_trade, after_trade = funding_per_bar(bars.index, funding, execution)

    slip = costs.slippage_bps / 10_000.0
    delta, fill, fee, slipped, cash, units, paid = _trade_path_kernel()(
        executed, price, changes, float(initial_equity), slip, costs.fee_rate, before_trade, after_trade
    )
    traded = delta != 0.0
    starts, delta, fill, fee, slipped = changes[traded], delta[traded], fill[traded], fee[traded], slipped[traded]
    fill_times = bars.index[starts]
    if execution == "close":  # filled as the deciding bar closes
        fill_times = fill_times + pd.Timedelta(infer_bar_length(nanoseconds(bars.index)), unit="ns")
    trades = pd.DataFrame(
        {
            "ts": fill_times,
            "side": np.where(delta > 0, "buy", "sell"),
            "units": np.abs(delta),
            "price": fill,
            "fee": fee,
            "slippage": slipped,
        }
    )
    equity = cash + units * close
    timeline = bars.index
    return VectorisedResult(
        equity=pd.Series(equity, index=timeline, name="equity", copy=False),
        units=pd.Series(units, index=timeline, name="units", copy=False),
        exposure=pd.Series(units * close / equity, index=timeline, name="exposure", copy=False),
        trades=trades,
        fees_paid=float(fee.sum()),
        slippage_paid=float(slipped.sum()),
        funding_received=float(paid.sum()),
    )


def funding_per_bar(
    index: pd.Index, funding: pd.DataFrame | None, execution: Execution
) -> tuple[np.ndarray, np.ndarray]:
    """Return Σ mark × rate per bar for funding charged before and after that bar's trade.

    A funding time belongs to the bar whose interval holds it. With next-open execution the trade is at
    the bar's open, so funding stamped exactly at the open charges the position before the trade and later
    funding in the bar the position after it; with close execution all of the bar's funding precedes it.
    Funding outside the bars (before the first open, at or after the last close) is left out.
    """
    import pandas as pd

    before, after = np.zeros(len(index)), np.zeros(len(index))
    if funding is None or funding.empty:
        return before, after
    funding = funding_within(index, funding)
    stamps = pd.DatetimeIndex(index)
    times = pd.DatetimeIndex(funding["ts"])
    bar = stamps.searchsorted(times, side="right") - 1
    inside = bar >= 0
    charge = (funding["mark_price"].to_numpy(np.float64) * funding["rate"].to_numpy(np.float64))[inside]
    bar, times = bar[inside], times[inside]
    at_open = np.ones(len(bar), dtype=bool) if execution == "close" else (stamps[bar] == times)
    np.add.at(before, bar[at_open], charge[at_open])
    np.add.at(after, bar[~at_open], charge[~at_open])
    return before, after


def funding_within(index: pd.Index, funding: pd.DataFrame) -> pd.DataFrame:
    """Return the funding rows from the first bar's open up to (not including) the last bar's close.

    Rows need a rate and a mark price; a missing one is an error rather than a silent zero.
    """
    import pandas as pd

    missing = {"ts", "rate", "mark_price"} - set(funding.columns)
    if missing:
        raise ValueError(f"funding frame lacks column(s) {', '.join(sorted(missing))}")
    if funding["mark_price"].isna().any() or funding["rate"].isna().any():
        raise ValueError("funding rows need a rate and a mark price: fill them before backtesting")
    stamps = nanoseconds(index)
    if not len(stamps):
        return funding.iloc[:0]
    times = pd.DatetimeIndex(funding["ts"]).as_unit("ns").asi8
    inside = (times >= stamps[0]) & (times < stamps[-1] + infer_bar_length(stamps))
    within: pd.DataFrame = funding.loc[inside]
    return within


def infer_bar_length(stamps: np.ndarray) -> int:
    """Return the most common spacing of bar open times (ns since the epoch); one bar: one minute is assumed."""
    if len(stamps) < 2:
        return 60 * 10**9
    values, counts = np.unique(np.diff(stamps), return_counts=True)
    length = int(values[np.argmax(counts)])
    if length <= 0:
        raise ValueError("bars must be in strictly increasing time order")
    return length


def nanoseconds(index: Any) -> np.ndarray:
    import pandas as pd

    stamps = pd.DatetimeIndex(index)
    if stamps.tz is None:
        raise ValueError("bar and event times must be timezone-aware (UTC)")
    return np.asarray(stamps.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


@cache
def _trade_path_kernel() -> Any:
    """Compile (once per process) the loop over bars; numba is imported only when needed.

    Per bar: funding on the position held before the trade, the trade if the executed target changes
    (sized by `traider.execution.sizing.rebalance_quantity`, the rule the event engine and worker use),
    then funding on the position after it. Returns per change the units traded, fill, fee and slippage,
    and per bar the cash, the units held and the funding received.
    """
    import numba

    rebalance: Any = numba.njit(nogil=True)(rebalance_quantity)

    @numba.njit(cache=False, nogil=True)
    def kernel(executed, price, changes, cash, slip, fee_rate, before_trade, after_trade):  # type: ignore[no-untyped-def]
        bars = executed.shape[0]
        count = changes.shape[0]
        trade = np.zeros((4, count))
        cash_path, units_path, paid = np.empty(bars), np.empty(bars), np.zeros(bars)
        held = 0.0
        number = 0
        for at in range(bars):
            if before_trade[at] != 0.0:
                payment = -held * before_trade[at]
                cash += payment
                paid[at] += payment
            if number < count and changes[number] == at:
                mark = price[at]
                delta, fill = rebalance(executed[at], cash, held, mark, slip, fee_rate)
                if delta != 0.0:
                    fee = abs(delta) * fill * fee_rate
                    cash -= delta * fill + fee
                    held += delta
                    trade[0, number] = delta
                    trade[1, number] = fill
                    trade[2, number] = fee
                    trade[3, number] = abs(delta) * mark * slip
                number += 1
            if after_trade[at] != 0.0:
                payment = -held * after_trade[at]
                cash += payment
                paid[at] += payment
            cash_path[at] = cash
            units_path[at] = held
        return trade[0], trade[1], trade[2], trade[3], cash_path, units_path, paid

    return kernel
