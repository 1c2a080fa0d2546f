"""A seeded market simulator for offline demos and stress tests; every row it makes is venue `sim`.

A regime-switching log price with jumps (`regimes`, `prices`), a perpetual on it with an OU basis and
Binance-style funding (`funding`), an L2 book around the mid (`book`) and trades (`trades`), served
through the `Source` interface by `SimulatorSource`.
"""

from traider.marketdata.simulator.config import VENUE, FlashCrash, Regime, SimulatorConfig, SimulatorRequestError
from traider.marketdata.simulator.market import SimulatedMarket
from traider.marketdata.simulator.source import SimulatorSource

__all__ = [
    "VENUE",
    "FlashCrash",
    "Regime",
    "SimulatedMarket",
    "SimulatorConfig",
    "SimulatorRequestError",
    "SimulatorSource",
]
