"""The simulated market: per-symbol, per-day paths, basis, activity and trades, each from its own stream.

Days are counted from the config's epoch (day 0 starts at the epoch). The streams are named
(seed, symbol, purpose, day), so a day comes out the same whatever was generated before it; the
spot path of `BTC/USD` is also the index of `BTC/USD:USD`. Minute-level quantities are made for
`GROUP_DAYS` aligned days at once (vectorised); recently used days are cached.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

import numpy as np

from traider.marketdata.simulator import funding, prices
from traider.marketdata.simulator.config import SimulatorConfig, SimulatorRequestError
from traider.marketdata.simulator.prices import MINUTES, MinutePath
from traider.marketdata.simulator.regimes import SECONDS_PER_DAY, FloatArray, RegimeChain
from traider.marketdata.simulator.scenarios import crash_offset, crash_varies
from traider.marketdata.simulator.seeds import generator
from traider.marketdata.simulator.symbols import Instrument, instrument
from traider.marketdata.simulator.trades import Activity, DayTrades, day_trades, minute_activities

GROUP_DAYS = 16
V = TypeVar("V")


Key = tuple[str, int]


class _Cache(Generic[V]):
    """A small least-recently-used map from (symbol, day) to a value."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[Key, V] = OrderedDict()

    def get(self, key: Key, make: Callable[[], Mapping[Key, V]]) -> V:
        """Return the value of `key`, first storing what `make` returns (at least `key`) when missing."""
        if key not in self._values:
            made = make()
            for other in made:
                self._values[other] = made[other]
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        self._values.move_to_end(key)
        return self._values[key]


class SimulatedMarket:
    """Every simulated quantity of every symbol, by day; the same config always gives the same values."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.epoch = int(config.epoch.timestamp())
        self._chains: dict[str, RegimeChain] = {}
        self._raw_minutes: _Cache[MinutePath] = _Cache(4 * GROUP_DAYS)
        self._minutes: _Cache[MinutePath] = _Cache(4 * GROUP_DAYS)
        self._activity: _Cache[Activity] = _Cache(4 * GROUP_DAYS)
        self._basis: _Cache[FloatArray] = _Cache(4 * GROUP_DAYS)
        self._seconds: _Cache[FloatArray] = _Cache(4)
        self._trades: _Cache[DayTrades] = _Cache(4)

    def instrument(self, symbol: str) -> Instrument:
        """Return the instrument of `symbol` (raises SimulatorRequestError for a malformed symbol)."""
        return instrument(symbol, self.config)

    def day_of(self, second: int) -> int:
        """Return the day (since the epoch) holding Unix second `second`."""
        return (second - self.epoch) // SECONDS_PER_DAY

    def day_start(self, day: int) -> int:
        """Return the Unix second at which `day` starts."""
        return self.epoch + day * SECONDS_PER_DAY

    def chain(self, symbol: str) -> RegimeChain:
        """Return the regime chain (skeleton) of the spot path under `symbol`."""
        spot = self.instrument(symbol).spot_symbol
        if spot not in self._chains:
            price = self.config.initial_price(self.instrument(spot).base)
            self._chains[spot] = RegimeChain(self.config, spot, math.log(price))
        return self._chains[spot]

    def minute_path(self, symbol: str, day: int) -> MinutePath:
        """Return the minute OHLC of `symbol`'s log price on `day`, scenarios and basis applied."""
        return self._minutes.get((symbol, day), lambda: {(symbol, day): self._minute_path(symbol, day)})

    def second_path(self, symbol: str, day: int) -> FloatArray:
        """Return `symbol`'s log price at each second 0 .. 86 400 of `day`."""
        return self._seconds.get((symbol, day), lambda: {(symbol, day): self._second_path(symbol, day)})

    def basis(self, symbol: str, day: int) -> FloatArray:
        """Return a perpetual's basis at each minute 0 .. 1 440 of `day`."""
        return self._basis.get((symbol, day), lambda: {(symbol, day): self._make_basis(symbol, day)})

    def activity(self, symbol: str, day: int) -> Activity:
        """Return the trade count and traded amount of each minute of `day`."""

        def make() -> dict[Key, Activity]:
            days = self._group(day)
            rngs = [generator(self.config.seed, symbol, "activity", each) for each in days]
            regimes = np.stack([self._spot_minutes(self.instrument(symbol).spot_symbol, each).regimes for each in days])
            made = minute_activities(self.config, self.instrument(symbol), regimes, rngs)
            return {(symbol, each): value for each, value in zip(days, made, strict=True)}

        return self._activity.get((symbol, day), make)

    def trades(self, symbol: str, day: int) -> DayTrades:
        """Return the trades of `symbol` on `day`."""
        return self._trades.get((symbol, day), lambda: {(symbol, day): self._make_trades(symbol, day)})

    def _group(self, day: int) -> range:
        if day < 0:
            raise SimulatorRequestError(
                f"simulated history starts at {self.config.epoch.isoformat()}; ask for later data"
            )
        first = day - day % GROUP_DAYS
        return range(first, first + GROUP_DAYS)

    def _spot_minutes(self, spot: str, day: int) -> MinutePath:
        """Return the spot's minute path before scenarios, made `GROUP_DAYS` aligned days at a time."""

        def make() -> dict[Key, MinutePath]:
            days = self._group(day)
            plans = [self.chain(spot).day_plan(each) for each in days]
            rngs = [generator(self.config.seed, spot, "minutes", each) for each in days]
            made = prices.minute_paths(plans, self.config, rngs)
            return {(spot, each): path for each, path in zip(days, made, strict=True)}

        return self._raw_minutes.get((spot, day), make)

    def _minute_path(self, symbol: str, day: int) -> MinutePath:
        spot = self.instrument(symbol).spot_symbol
        start = self.day_start(day)
        if symbol != spot:
            basis = np.log1p(self.basis(symbol, day))
            return self.minute_path(spot, day).shifted(basis[:MINUTES], float(basis[-1]))
        if crash_varies(self.config.flash_crash, start, start + SECONDS_PER_DAY):
            return prices.from_seconds(self.second_path(spot, day), self._spot_minutes(spot, day))
        offsets = crash_offset(self.config.flash_crash, np.array([start, start + SECONDS_PER_DAY]))
        return self._spot_minutes(spot, day).shifted(np.full(MINUTES, offsets[0]), float(offsets[1]))

    def _second_path(self, symbol: str, day: int) -> FloatArray:
        spot = self.instrument(symbol).spot_symbol
        if symbol != spot:
            basis = np.log1p(self.basis(symbol, day))
            return np.asarray(self.second_path(spot, day) + np.append(np.repeat(basis[:MINUTES], 60), basis[-1]))
        rng = generator(self.config.seed, spot, "seconds", day)
        path = prices.second_path(self._spot_minutes(spot, day), rng)
        start = self.day_start(day)
        return path + crash_offset(self.config.flash_crash, np.arange(start, start + SECONDS_PER_DAY + 1))

    def _boundary_basis(self, symbol: str, day: int) -> float:
        regime = int(self.chain(symbol).day_plan(day).segment_regimes[0])
        return funding.boundary_basis(self.config, regime, generator(self.config.seed, symbol, "basis-edge", day))

    def _make_basis(self, symbol: str, day: int) -> FloatArray:
        if not self.instrument(symbol).is_perpetual:
            raise SimulatorRequestError(
                f"{symbol} is a spot pair; basis and funding exist for perpetuals like BTC/USD:USD"
            )
        regimes = self._spot_minutes(self.instrument(symbol).spot_symbol, day).regimes
        start, end = self._boundary_basis(symbol, day), self._boundary_basis(symbol, day + 1)
        return funding.basis_path(self.config, regimes, start, end, generator(self.config.seed, symbol, "basis", day))

    def _make_trades(self, symbol: str, day: int) -> DayTrades:
        rng = generator(self.config.seed, symbol, "trades", day)
        log_mid = self.second_path(symbol, day)
        activity = self.activity(symbol, day)
        instrument = self.instrument(symbol)
        return day_trades(self.config, instrument, activity, log_mid=log_mid, day_start=self.day_start(day), rng=rng)
