"""Settings of the market simulator: one frozen, validated config whose defaults document the model.

Units: drifts and volatilities are of the log price per day (a volatility of 0.03 is a 3 % standard
deviation of the daily return), rates are per day or per second as their names say, the basis and
funding rates are fractions (0.0001 = 1 bp). The venue is not a setting: every row is venue `sim`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from traider.errors import TraiderError

VENUE = "sim"


class SimulatorRequestError(TraiderError, ValueError):
    """A request the simulator cannot answer (wrong venue, symbol, window or timeframe)."""


class Regime(BaseModel):
    """One state of the Markov regime chain with its own drift, volatility, jumps and flows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Name of the regime, for reports.")
    drift_per_day: float = Field(description="Drift of the log price per day.")
    volatility_per_day: float = Field(gt=0, description="Standard deviation of the diffusion's daily log return.")
    jumps_per_day: float = Field(ge=0, description="Intensity of the compound-Poisson jumps per day.")
    mean_duration_hours: float = Field(gt=0, description="Mean (exponential) holding time of the regime.")
    trade_rate_multiplier: float = Field(default=1.0, gt=0, description="Factor on `trades_per_second`.")
    basis_mean: float = Field(
        default=0.0, gt=-0.5, lt=0.5, description="Level the perpetual's basis reverts to in this regime."
    )


DEFAULT_REGIMES = (
    Regime(
        name="calm",
        drift_per_day=0.0,
        volatility_per_day=0.015,
        jumps_per_day=0.2,
        mean_duration_hours=12,
        basis_mean=0.0001,
    ),
    Regime(
        name="trending_up",
        drift_per_day=0.03,
        volatility_per_day=0.025,
        jumps_per_day=0.5,
        mean_duration_hours=6,
        trade_rate_multiplier=1.5,
        basis_mean=0.0008,
    ),
    Regime(
        name="trending_down",
        drift_per_day=-0.03,
        volatility_per_day=0.03,
        jumps_per_day=0.5,
        mean_duration_hours=4,
        trade_rate_multiplier=1.8,
        basis_mean=-0.0006,
    ),
    Regime(
        name="volatile",
        drift_per_day=0.0,
        volatility_per_day=0.06,
        jumps_per_day=3.0,
        mean_duration_hours=3,
        trade_rate_multiplier=3.0,
        basis_mean=0.0,
    ),
)
DEFAULT_TRANSITIONS = (
    (0.0, 0.35, 0.35, 0.30),
    (0.6, 0.0, 0.1, 0.3),
    (0.5, 0.1, 0.0, 0.4),
    (0.6, 0.2, 0.2, 0.0),
)


class FlashCrash(BaseModel):
    """A scripted crash: the price falls by `depth` within `fall_seconds`, then recovers partly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime = Field(description="When the fall starts (timezone-aware).")
    depth: float = Field(default=0.30, gt=0, lt=1, description="Fraction the price loses during the fall.")
    fall_seconds: int = Field(default=30, ge=1, le=60, description="Seconds from the start to the trough.")
    recovery_fraction: float = Field(default=0.5, ge=0, le=1, description="Fraction of the fall won back.")
    recovery_seconds: int = Field(default=1800, ge=1, description="Seconds from the trough to the recovered level.")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the flash crash time with a timezone, e.g. 2024-05-01T12:00:00Z")
        return value.astimezone(UTC)


class SimulatorConfig(BaseModel):
    """Everything that determines the simulated market; the same config always yields the same data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=0, ge=0, description="Root seed of every random stream.")
    epoch: datetime = Field(
        default=datetime(2018, 1, 1, tzinfo=UTC), description="Midnight (UTC) where simulated history begins."
    )
    regimes: tuple[Regime, ...] = Field(default=DEFAULT_REGIMES, min_length=2, description="States of the chain.")
    transitions: tuple[tuple[float, ...], ...] = Field(
        default=DEFAULT_TRANSITIONS,
        description="Row i: probabilities of the regime entered when leaving regime i (zero diagonal, rows sum to 1).",
    )
    jump_mean: float = Field(default=-0.002, description="Mean of a jump's log return.")
    jump_volatility: float = Field(default=0.01, ge=0, description="Standard deviation of a jump's log return.")
    initial_prices: dict[str, float] = Field(
        default_factory=lambda: {"BTC": 30_000.0, "ETH": 2_000.0, "SOL": 100.0},
        description="Price of each base asset at the epoch.",
    )
    default_initial_price: float = Field(default=100.0, gt=0, description="Price at the epoch of other bases.")
    tick_significant_digits: int = Field(
        default=5, ge=1, le=12, description="Digits of the initial price a tick resolves: 30 000 -> tick 1."
    )
    spread_bps: float = Field(default=1.0, gt=0, description="Quoted spread around the mid, in basis points.")
    book_levels: int = Field(default=20, ge=1, le=500, description="Price levels on each side of the book.")
    level_notional: float = Field(default=50_000.0, gt=0, description="Median quote notional of a book level.")
    level_dispersion: float = Field(default=0.5, ge=0, description="Standard deviation of a level's log amount.")
    level_refresh_seconds: int = Field(default=10, ge=1, description="Seconds between refreshes of a level.")
    snapshot_seconds: int = Field(default=60, ge=1, le=86_400, description="Seconds between book snapshots.")
    trades_per_second: float = Field(default=1.0, ge=0, description="Trade arrival rate in a regime of factor 1.")
    trade_notional: float = Field(default=2_000.0, gt=0, description="Median quote notional of a trade.")
    trade_dispersion: float = Field(default=1.0, ge=0, description="Standard deviation of a trade's log size.")
    inside_spread_probability: float = Field(
        default=0.1, ge=0, le=1, description="Chance a trade prints strictly inside a spread wider than a tick."
    )
    basis_half_life_hours: float = Field(default=4.0, gt=0, description="Half-life of the basis's mean reversion.")
    basis_volatility: float = Field(default=0.0008, ge=0, description="Stationary standard deviation of the basis.")
    funding_interval_hours: int = Field(default=8, ge=1, le=24, description="Hours between funding settlements.")
    funding_interest: float = Field(default=0.0001, description="Interest rate per funding interval.")
    funding_clamp: float = Field(default=0.0005, ge=0, description="Clamp on (interest - premium), as Binance.")
    funding_cap: float = Field(default=0.003, gt=0, lt=1, description="Cap on the absolute funding rate.")
    batch_rows: int = Field(default=50_000, ge=1, description="Most rows in one yielded batch.")
    flash_crash: FlashCrash | None = Field(default=None, description="Scripted crash applied to every symbol.")

    @field_validator("epoch")
    @classmethod
    def _midnight(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the epoch with a timezone, e.g. 2018-01-01T00:00:00Z")
        value = value.astimezone(UTC)
        if value != value.replace(hour=0, minute=0, second=0, microsecond=0):
            raise ValueError(f"the epoch must be a UTC midnight, not {value.isoformat()}")
        return value

    @field_validator("funding_interval_hours")
    @classmethod
    def _divides_day(cls, value: int) -> int:
        if 24 % value:
            raise ValueError(f"the funding interval must divide 24 hours, not {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SimulatorConfig:
        count = len(self.regimes)
        if len(self.transitions) != count or any(len(row) != count for row in self.transitions):
            raise ValueError(f"transitions must be a {count}x{count} matrix, one row per regime")
        for index, row in enumerate(self.transitions):
            if row[index] != 0 or min(row) < 0 or abs(sum(row) - 1) > 1e-9:
                raise ValueError(f"transition row {index} needs a zero diagonal and probabilities summing to 1")
        if self.flash_crash is not None and self.flash_crash.at < self.epoch:
            raise ValueError("the flash crash must happen after the epoch")
        return self

    def initial_price(self, base: str) -> float:
        """Return the price of `base` at the epoch."""
        return self.initial_prices.get(base, self.default_initial_price)
