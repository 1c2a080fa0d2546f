"""Per-venue maker/taker fee tiers kept as data (`fee_schedules.yaml`), looked up by 30-day volume."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from traider.errors import ConfigurationError, TraiderError

DEFAULT_SCHEDULES = "fee_schedules.yaml"
MARKET_TYPES = ("spot", "linear_perp")


class Liquidity(StrEnum):
    """Whether a fill added liquidity (maker, a resting order) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


class UnknownFeeScheduleError(TraiderError):
    """No fee table exists for the requested venue or market type."""


@dataclass(frozen=True, slots=True)
class FeeTier:
    """One tier: applies from `min_volume_usd` of 30-day volume; rates are fractions of notional."""

    min_volume_usd: Decimal
    maker_rate: Decimal
    taker_rate: Decimal


@dataclass(frozen=True)
class FeeSchedule:
    """Fee tiers per (venue, market type), each tuple ascending by `min_volume_usd` from 0."""

    tables: Mapping[tuple[str, str], tuple[FeeTier, ...]] = field(hash=False)  # keeps CostModel hashable

    @classmethod
    def load(cls, path: Path | None = None) -> FeeSchedule:
        """Return the schedules in `path`, or the ones shipped with the package when it is None."""
        import yaml  # type: ignore[import-untyped]

        if path is None:
            text = resources.files(__package__).joinpath(DEFAULT_SCHEDULES).read_text(encoding="utf-8")
            name = DEFAULT_SCHEDULES
        else:
            text, name = path.read_text(encoding="utf-8"), str(path)
        return cls.from_mapping(yaml.safe_load(text), source=name)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "fee schedules") -> FeeSchedule:
        """Return the schedules of a {venue: {market_type: {tiers: [...]}}} mapping, checked."""
        tables: dict[tuple[str, str], tuple[FeeTier, ...]] = {}
        for venue, markets in data.items():
            for market_type, table in markets.items():
                where = f"{source}: {venue}/{market_type}"
                if market_type not in MARKET_TYPES:
                    raise ConfigurationError(f"{where}: market type must be one of {', '.join(MARKET_TYPES)}")
                tables[(venue, market_type)] = _tiers(table.get("tiers") or [], where)
        return cls(tables)

    def venues(self) -> list[str]:
        """Return the venues that have at least one fee table, sorted."""
        return sorted({venue for venue, _ in self.tables})

    def tiers(self, venue: str, market_type: str = "spot") -> tuple[FeeTier, ...]:
        """Return the tiers of one venue and market type; raise `UnknownFeeScheduleError` when absent."""
        tiers = self.tables.get((venue, market_type))
        if tiers is not None:
            return tiers
        if venue not in self.venues():
            raise UnknownFeeScheduleError(
                f"no fee schedule for venue {venue!r}: known venues are {', '.join(self.venues())}"
                " (add it to fee_schedules.yaml)"
            )
        known = sorted(market for name, market in self.tables if name == venue)
        raise UnknownFeeScheduleError(f"no {market_type!r} fee schedule for venue {venue!r}: it has {', '.join(known)}")

    def tier(self, venue: str, market_type: str, volume_30d_usd: float | Decimal) -> FeeTier:
        """Return the tier that applies at a 30-day volume (the last with min_volume_usd <= volume)."""
        if volume_30d_usd < 0:
            raise ValueError(f"30-day volume must be >= 0, not {volume_30d_usd}")
        tiers = self.tiers(venue, market_type)
        volume = Decimal(str(volume_30d_usd)) if isinstance(volume_30d_usd, float) else volume_30d_usd
        index = bisect_right([tier.min_volume_usd for tier in tiers], volume) - 1
        return tiers[index]

    def rate(
        self,
        venue: str,
        market_type: str,
        liquidity: Liquidity | str,
        volume_30d_usd: float | Decimal = 0.0,
    ) -> Decimal:
        """Return the fee rate (a fraction of notional, e.g. 0.001 for 0.1%) for one fill."""
        tier = self.tier(venue, market_type, volume_30d_usd)
        return tier.maker_rate if Liquidity(liquidity) is Liquidity.MAKER else tier.taker_rate


def _tiers(rows: list[Mapping[str, Any]], where: str) -> tuple[FeeTier, ...]:
    try:
        tiers = tuple(
            FeeTier(
                min_volume_usd=Decimal(str(row["min_volume_usd"])),
                maker_rate=Decimal(str(row["maker_pct"])) / 100,
                taker_rate=Decimal(str(row["taker_pct"])) / 100,
            )
            for row in rows
        )
    except (KeyError, TypeError, InvalidOperation) as error:
        raise ConfigurationError(
            f"{where}: each tier needs min_volume_usd, maker_pct and taker_pct as numbers ({error!r})"
        ) from None
    minimums = [tier.min_volume_usd for tier in tiers]
    if not tiers or minimums[0] != 0 or minimums != sorted(set(minimums)):
        raise ConfigurationError(f"{where}: tiers must start at min_volume_usd 0 and strictly ascend")
    return tiers
