"""The ccxt venues TRAIDER reads market data from, loaded and validated from `config/marketdata.yaml`.

Each venue names its ccxt exchange id, its market type (spot, or swap for read-only perpetuals), the
symbols and timeframes to fetch and which streams, and is switched on by its `enabled` flag. The flag
can be overridden per process with `TRAIDER_VENUE_<NAME>_ENABLED=true|false`. A malformed file raises
`ConfigurationError` with a one-line message naming the file and the first problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from traider.errors import ConfigurationError
from traider.marketdata.records import Stream

SUPPORTED_CCXT_IDS = frozenset({"coinbase", "binance", "kraken", "bybit", "binanceusdm"})
DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "marketdata.yaml"
CONFIG_ENV = "TRAIDER_MARKETDATA_CONFIG"
TIMEFRAME = re.compile(r"^[0-9]+[smhdwM]$")
SYMBOL = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$")


class VenueConfig(BaseModel):
    """One venue: which ccxt exchange, which markets and streams, and whether it is on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    ccxt_id: str
    market_type: Literal["spot", "swap"]
    enabled: bool = False
    symbols: tuple[str, ...] = Field(min_length=1)
    timeframes: tuple[str, ...] = ("1h",)
    streams: tuple[Stream, ...] = (Stream.OHLCV, Stream.TRADES, Stream.BOOK_SNAPSHOTS)
    rate_limit_ms: int | None = Field(default=None, ge=1)

    @field_validator("ccxt_id")
    @classmethod
    def _known_exchange(cls, value: str) -> str:
        if value not in SUPPORTED_CCXT_IDS:
            raise ValueError(f"ccxt_id {value!r} is not supported; use one of {', '.join(sorted(SUPPORTED_CCXT_IDS))}")
        return value

    @field_validator("timeframes")
    @classmethod
    def _timeframes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not TIMEFRAME.match(value):
                raise ValueError(f"timeframe {value!r} is not like 1m, 1h or 1d")
        return values

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not SYMBOL.match(value):
                raise ValueError(f"symbol {value!r} is not a ccxt unified symbol like BTC/USDT or BTC/USDT:USDT")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> VenueConfig:
        perpetual = [symbol for symbol in self.symbols if ":" in symbol]
        if self.market_type == "spot" and perpetual:
            raise ValueError(f"spot venue {self.name!r} lists perpetual symbols {perpetual}")
        if self.market_type == "swap" and len(perpetual) != len(self.symbols):
            raise ValueError(f"swap venue {self.name!r} needs settled symbols like BTC/USDT:USDT")
        if self.market_type == "spot" and Stream.FUNDING_RATES in self.streams:
            raise ValueError(f"spot venue {self.name!r} has no funding rates")
        if Stream.BOOK_DELTAS in self.streams:
            raise ValueError(f"venue {self.name!r}: book_deltas come from websocket streams, not ccxt REST")
        return self


class MarketDataConfig(BaseModel):
    """Every configured venue and the default spot venue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_spot_venue: str = "coinbase"
    venues: Mapping[str, VenueConfig]

    @model_validator(mode="before")
    @classmethod
    def _name_venues(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("venues"), dict):
            venues = {
                name: {"name": name, **body} if isinstance(body, dict) else body
                for name, body in data["venues"].items()
            }
            return {**data, "venues": venues}
        return data

    @model_validator(mode="after")
    def _default_is_spot(self) -> MarketDataConfig:
        default = self.venues.get(self.default_spot_venue)
        if default is None or default.market_type != "spot":
            raise ValueError(f"default_spot_venue {self.default_spot_venue!r} is not a configured spot venue")
        return self

    def enabled(self) -> list[VenueConfig]:
        """Return the venues switched on, in file order."""
        return [venue for venue in self.venues.values() if venue.enabled]

    def venue(self, name: str) -> VenueConfig:
        """Return one venue by name; raise ConfigurationError when it is not configured."""
        if name not in self.venues:
            raise ConfigurationError(f"venue {name!r} is not configured; configured: {', '.join(self.venues)}")
        return self.venues[name]


def load_venues(path: Path | None = None, environ: Mapping[str, str] | None = None) -> MarketDataConfig:
    """Read and validate the venue file (TRAIDER_MARKETDATA_CONFIG, else config/marketdata.yaml), applying
    TRAIDER_VENUE_<NAME>_ENABLED overrides."""
    import yaml  # type: ignore[import-untyped]

    variables = os.environ if environ is None else environ
    source = path or Path(variables.get(CONFIG_ENV) or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"{source}: cannot read venue file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{source}: not valid YAML ({_one_line(str(error))})") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{source}: expected a mapping with a 'venues' key")
    _apply_overrides(raw, variables)
    try:
        return MarketDataConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise ConfigurationError(f"{source}: {where}: {_one_line(first['msg'])}") from None


def _apply_overrides(raw: dict[str, object], environ: Mapping[str, str]) -> None:
    venues = raw.get("venues")
    if not isinstance(venues, dict):
        return
    for name, body in venues.items():
        flag = environ.get(f"TRAIDER_VENUE_{str(name).upper()}_ENABLED")
        if flag is not None and isinstance(body, dict):
            if flag.strip().lower() not in {"true", "false", "1", "0"}:
                raise ConfigurationError(f"TRAIDER_VENUE_{str(name).upper()}_ENABLED={flag!r} is not true or false")
            body["enabled"] = flag.strip().lower() in {"true", "1"}


def _one_line(text: str) -> str:
    return " ".join(text.split())
