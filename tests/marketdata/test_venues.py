"""Venue definitions from config/marketdata.yaml: defaults, feature flags and one-line errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from traider.errors import ConfigurationError
from traider.marketdata.records import Stream
from traider.marketdata.venues import DEFAULT_PATH, load_venues

GOOD = """
default_spot_venue: coinbase
venues:
  coinbase: {ccxt_id: coinbase, market_type: spot, enabled: true, symbols: [BTC/USD], timeframes: [1m]}
  bybit: {ccxt_id: bybit, market_type: swap, symbols: [BTC/USDT:USDT], streams: [ohlcv, funding_rates]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "marketdata.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_venues_repository_file_enables_coinbase_only() -> None:
    config = load_venues(environ={})

    assert DEFAULT_PATH.name == "marketdata.yaml" and DEFAULT_PATH.parent.name == "config"
    assert [venue.name for venue in config.enabled()] == ["coinbase"]
    assert config.default_spot_venue == "coinbase"
    assert set(config.venues) == {"coinbase", "binance", "kraken", "bybit", "binanceusdm"}
    assert {name: venue.market_type for name, venue in config.venues.items()} == {
        "coinbase": "spot",
        "binance": "spot",
        "kraken": "spot",
        "bybit": "swap",
        "binanceusdm": "swap",
    }
    assert config.venue("binanceusdm").ccxt_id == "binanceusdm"
    assert Stream.FUNDING_RATES in config.venue("bybit").streams


def test_load_venues_environment_flag_switches_venue_on_and_off(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    config = load_venues(path, environ={"TRAIDER_VENUE_BYBIT_ENABLED": "true", "TRAIDER_VENUE_COINBASE_ENABLED": "0"})

    assert [venue.name for venue in config.enabled()] == ["bybit"]


def test_load_venues_defaults_fill_optional_fields(tmp_path: Path) -> None:
    bybit = load_venues(write(tmp_path, GOOD), environ={}).venue("bybit")

    assert bybit.enabled is False
    assert bybit.timeframes == ("1h",)
    assert bybit.streams == (Stream.OHLCV, Stream.FUNDING_RATES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("ccxt_id: bybit", "ccxt_id: ftx"), r"venues\.bybit\.ccxt_id: .*'ftx' is not supported"),
        (GOOD.replace("[BTC/USD]", "[BTC/USDT:USDT]"), r"spot venue 'coinbase' lists perpetual symbols"),
        (GOOD.replace("[1m]", "[1 minute]"), r"timeframe '1 minute' is not like 1m"),
        (GOOD.replace("[BTC/USD]", "[btcusd]"), r"symbol 'btcusd' is not a ccxt unified symbol"),
        (GOOD.replace("enabled: true", "enabled: true, colour: red"), r"venues\.coinbase\.colour: Extra inputs"),
        (GOOD.replace("[ohlcv, funding_rates]", "[ohlcv, book_deltas]"), r"book_deltas come from websocket"),
        (GOOD.replace("default_spot_venue: coinbase", "default_spot_venue: bybit"), r"not a configured spot venue"),
        ("venues: [coinbase", r"not valid YAML"),
        ("- coinbase", r"expected a mapping"),
    ],
)
def test_load_venues_bad_file_raises_one_line_error(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigurationError, match=expected) as raised:
        load_venues(path, environ={})

    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(str(path))


def test_load_venues_missing_file_raises_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read venue file"):
        load_venues(tmp_path / "absent.yaml", environ={})


def test_load_venues_bad_flag_value_raises_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TRAIDER_VENUE_BYBIT_ENABLED='maybe'"):
        load_venues(write(tmp_path, GOOD), environ={"TRAIDER_VENUE_BYBIT_ENABLED": "maybe"})


def test_market_data_config_unknown_venue_raises_configuration_error(tmp_path: Path) -> None:
    config = load_venues(write(tmp_path, GOOD), environ={})

    with pytest.raises(ConfigurationError, match="venue 'kraken' is not configured"):
        config.venue("kraken")
