"""The vectorised bar engine: target exposures → positions → equity, with fees and slippage always in.

Conventions:
- a target is a fraction of equity in [-1, 1], decided at a bar's close;
- with `execution="next_open"` (default) it is executed at the next bar's open, so no decision can use
  the price it trades at; `execution="close"` trades at the deciding bar's close (for comparisons with
  engines that do so);
- a buy pays `price × (1 + slippage)`, a sell receives `price × (1 − slippage)`, and the fee is
  `fee_rate × |units| × fill price`; fees and slippage are reported separately;
- the position is rebalanced only when the target changes, so that after the trade the position's
  value at the fill price is `target ×` the equity left after the fee (cash + units × fill); going
  all in from cash therefore buys `cash / (fill × (1 + fee_rate))` units, as vectorbt's
  `Portfolio.from_signals` does. Between changes the units are held, so price drift causes no turnover;
- equity is marked at each bar's close: cash + units × close.

The path is computed segment by segment between target changes: numpy over the bars, Python only per
change, so a million bars with thousands of trades run in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

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
    """The path of a vectorised backtest."""

    equity: pd.Series
    units: pd.Series
    exposure: pd.Series
    trades: pd.DataFrame
    fees_paid: float
    slippage_paid: float


def run_vectorised(
    bars: pd.DataFrame,
    targets: pd.Series,
    *,
    costs: BarCosts,
    initial_equity: float = 10_000.0,
    execution: Execution = "next_open",
) -> VectorisedResult:
    """Simulate holding `targets` (fractions of equity per bar) on `bars` with costs; see the module doc."""
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

    slip = costs.slippage_bps / 10_000.0
    delta, fill, fee, slipped, held, cash = _trade_path(
        executed, price, changes, float(initial_equity), slip, costs.fee_rate
    )
    traded = delta != 0.0
    starts, delta, fill, fee, slipped = changes[traded], delta[traded], fill[traded], fee[traded], slipped[traded]
    segment_units = np.concatenate(([0.0], held[traded]))
    segment_cash = np.concatenate(([float(initial_equity)], cash[traded]))
    trades = pd.DataFrame(
        {
            "ts": bars.index[starts],
            "side": np.where(delta > 0, "buy", "sell"),
            "units": np.abs(delta),
            "price": fill,
            "fee": fee,
            "slippage": slipped,
        }
    )
    fees, slippage = float(fee.sum()), float(slipped.sum())
    lengths = np.diff(np.concatenate(([0], starts, [len(close)])))
    units = np.repeat(segment_units, lengths)
    equity = np.repeat(segment_cash, lengths) + units * close
    timeline = bars.index
    return VectorisedResult(
        equity=pd.Series(equity, index=timeline, name="equity", copy=False),
        units=pd.Series(units, index=timeline, name="units", copy=False),
        exposure=pd.Series(units * close / equity, index=timeline, name="exposure", copy=False),
        trades=trades,
        fees_paid=fees,
        slippage_paid=slippage,
    )


def _trade_path(
    executed: np.ndarray, price: np.ndarray, changes: np.ndarray, cash: float, slip: float, fee_rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return per change: units traded, fill price, fee, slippage cost, and units and cash held after."""
    return _trade_path_kernel()(executed, price, changes, cash, slip, fee_rate)  # type: ignore[no-any-return]


@cache
def _trade_path_kernel() -> Any:
    """Compile (once per process) the loop over target changes; numba is imported only when needed."""
    import numba

    @numba.njit(cache=False, nogil=True)
    def kernel(executed, price, changes, cash, slip, fee_rate):  # type: ignore[no-untyped-def]
        count = changes.shape[0]
        out = np.zeros((6, count))
        held = 0.0
        for number in range(count):
            at = changes[number]
            mark = price[at]
            target = executed[at]
            # the trade that leaves the position at `target ×` the post-fee equity, valued at the fill price:
            # (held + d) p = target (cash + held p − |d| p f), solved for d with its sign from the fee-free trade
            fee_free = target * cash / mark + (target - 1.0) * held
            if fee_free == 0.0:
                out[4, number] = held
                out[5, number] = cash
                continue
            fill = mark * (1.0 + slip) if fee_free > 0 else mark * (1.0 - slip)
            base = target * (cash / fill + held) - held
            delta = base / (1.0 + target * fee_rate) if base > 0 else base / (1.0 - target * fee_rate)
            fee = abs(delta) * fill * fee_rate
            cash -= delta * fill + fee
            held += delta
            out[0, number] = delta
            out[1, number] = fill
            out[2, number] = fee
            out[3, number] = abs(delta) * mark * slip
            out[4, number] = held
            out[5, number] = cash
        return out[0], out[1], out[2], out[3], out[4], out[5]

    return kernel
