"""Funding payments of perpetual positions at each funding time.

Sign conventions: `position_qty` is signed (long > 0, short < 0); a funding rate > 0 means longs pay
shorts. A payment is what the position holder receives, so it is negative when they pay:

    payment = −position_qty × mark_price × rate

A long pays (payment < 0) when the rate is positive and receives when it is negative; a short the
reverse. The position charged at a funding time is the one held just before it: a change stamped
exactly at the funding time takes effect after the funding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def funding_payment(position_qty: float, mark_price: float, rate: float) -> float:
    """Return what the holder of `position_qty` receives at one funding time (negative: pays)."""
    return -position_qty * mark_price * rate


def funding_payments(positions: pd.Series, funding: pd.DataFrame) -> pd.Series:
    """Return the payment at each funding time for a position timeline (vectorised).

    `positions` holds the signed quantity in force from each timestamp of its (ascending, tz-aware)
    index on; before its first timestamp the position is flat. `funding` has the columns `ts`, `rate`
    and `mark_price` (a `market.funding_rates` frame). The result is indexed by funding time.
    """
    import numpy as np
    import pandas as pd

    missing = {"ts", "rate", "mark_price"} - set(funding.columns)
    if missing:
        raise ValueError(f"funding frame lacks column(s) {', '.join(sorted(missing))}")
    if not positions.index.is_monotonic_increasing:
        raise ValueError("position timeline must be sorted by time")
    funding = funding.sort_values("ts")
    if funding["mark_price"].isna().any():
        first = funding.loc[funding["mark_price"].isna(), "ts"].iloc[0]
        raise ValueError(f"funding at {first} has no mark price: fill mark prices before computing payments")
    times = pd.DatetimeIndex(funding["ts"])
    held_index = pd.DatetimeIndex(positions.index).searchsorted(times, side="left") - 1
    quantities = positions.to_numpy(dtype=np.float64)
    held = np.where(held_index >= 0, quantities[np.clip(held_index, 0, None)], 0.0) if len(quantities) else 0.0
    payments = -held * funding["mark_price"].to_numpy(np.float64) * funding["rate"].to_numpy(np.float64)
    return pd.Series(payments, index=times, name="funding_payment", dtype=np.float64)
