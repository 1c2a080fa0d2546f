"""Simulated instruments: spot pairs like `BTC/USD` and perpetuals like `BTC/USD:USD` on that spot."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from traider.marketdata.simulator.config import SimulatorConfig, SimulatorRequestError

_SYMBOL = re.compile(r"^([A-Z0-9]+)/([A-Z0-9]+)(?::([A-Z0-9]+))?$")


@dataclass(frozen=True)
class Instrument:
    """A simulated instrument; a perpetual trades at its spot (the index) times one plus the basis."""

    symbol: str
    base: str
    quote: str
    settle: str | None
    tick: float

    @property
    def is_perpetual(self) -> bool:
        """Return True for a perpetual swap (a symbol with a settle currency)."""
        return self.settle is not None

    @property
    def spot_symbol(self) -> str:
        """Return the spot symbol whose price path this instrument follows (its index)."""
        return f"{self.base}/{self.quote}"

    @property
    def decimals(self) -> int:
        """Return the decimals a price on the tick grid needs."""
        return max(0, -math.floor(math.log10(self.tick) + 1e-9))

    def round_price(self, ticks: float) -> float:
        """Return the price of a whole number of ticks without binary noise."""
        return round(ticks * self.tick, self.decimals)


def instrument(symbol: str, config: SimulatorConfig) -> Instrument:
    """Return the instrument of `symbol`, or raise SimulatorRequestError naming the accepted forms."""
    match = _SYMBOL.match(symbol)
    if match is None:
        raise SimulatorRequestError(f"symbol {symbol!r} is not like BTC/USD (spot) or BTC/USD:USD (perpetual)")
    base, quote, settle = match.groups()
    price = config.initial_price(base)
    tick = 10.0 ** (math.floor(math.log10(price)) - config.tick_significant_digits + 1)
    return Instrument(symbol=symbol, base=base, quote=quote, settle=settle, tick=tick)
