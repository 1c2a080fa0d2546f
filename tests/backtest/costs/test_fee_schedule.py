"""Fee tiers: lookups at tier boundaries, maker vs taker, errors for unknown venues and bad tables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from traider.backtest.costs.fee_schedule import FeeSchedule, Liquidity, UnknownFeeScheduleError
from traider.errors import ConfigurationError


@pytest.fixture(scope="module")
def schedule() -> FeeSchedule:
    return FeeSchedule.load()


def test_fee_schedule_shipped_tables_cover_every_venue_and_market(schedule: FeeSchedule) -> None:
    assert set(schedule.tables) == {
        ("coinbase", "spot"),
        ("binance", "spot"),
        ("binance", "linear_perp"),
        ("kraken", "spot"),
        ("bybit", "spot"),
        ("bybit", "linear_perp"),
    }


def test_fee_schedule_shipped_tables_taker_never_below_maker(schedule: FeeSchedule) -> None:
    for tiers in schedule.tables.values():
        assert all(tier.taker_rate >= tier.maker_rate for tier in tiers)


@pytest.mark.parametrize(
    ("volume", "expected_taker"),
    [
        (0.0, Decimal("0.012")),  # Coinbase entry tier taker "1.20" % -> 0.012
        (999.99, Decimal("0.012")),
        (1000.0, Decimal("0.0075")),  # exactly on the boundary: the higher tier applies
        (10000.0, Decimal("0.0040")),
        (400_000_000.0, Decimal("0.0005")),
        (1e12, Decimal("0.0005")),  # far above the last threshold: last tier
    ],
)
def test_fee_schedule_coinbase_taker_at_boundaries_picks_tier(
    schedule: FeeSchedule, volume: float, expected_taker: Decimal
) -> None:
    assert schedule.rate("coinbase", "spot", "taker", volume) == expected_taker


def test_fee_schedule_binance_perp_maker_just_below_and_at_vip1_changes_rate(schedule: FeeSchedule) -> None:
    # VIP 0 maker 0.0200 % -> 0.0002; VIP 1 from 15,000,000 USD: 0.0160 % -> 0.00016
    assert schedule.rate("binance", "linear_perp", Liquidity.MAKER, 14_999_999.99) == Decimal("0.0002")
    assert schedule.rate("binance", "linear_perp", Liquidity.MAKER, 15_000_000) == Decimal("0.00016")


def test_fee_schedule_kraken_first_tier_ends_at_10000(schedule: FeeSchedule) -> None:
    # Kraken publishes "$0 - $10,000" then "$10,001 - $50,000": taker 0.40 % then 0.35 %
    assert schedule.rate("kraken", "spot", "taker", 10_000) == Decimal("0.004")
    assert schedule.rate("kraken", "spot", "taker", 10_001) == Decimal("0.0035")


def test_fee_schedule_fee_of_a_fill_hand_computed(schedule: FeeSchedule) -> None:
    # Bybit linear perp, non-VIP taker 0.055 %: 2 BTC at 30,000 = 60,000 USD notional -> 33.00 USD
    rate = schedule.rate("bybit", "linear_perp", "taker")
    assert Decimal(60_000) * rate == Decimal("33.00000")


def test_fee_schedule_unknown_venue_raises_one_line_error(schedule: FeeSchedule) -> None:
    with pytest.raises(UnknownFeeScheduleError, match=r"no fee schedule for venue 'ftx': known venues are binance"):
        schedule.rate("ftx", "spot", "taker")


def test_fee_schedule_unknown_market_type_names_available_ones(schedule: FeeSchedule) -> None:
    with pytest.raises(UnknownFeeScheduleError, match=r"'linear_perp'.*'kraken': it has spot"):
        schedule.rate("kraken", "linear_perp", "maker")


def test_fee_schedule_bad_liquidity_raises_value_error(schedule: FeeSchedule) -> None:
    with pytest.raises(ValueError, match="'both' is not a valid Liquidity"):
        schedule.rate("binance", "spot", "both")


def test_fee_schedule_negative_volume_raises_value_error(schedule: FeeSchedule) -> None:
    with pytest.raises(ValueError, match="30-day volume must be >= 0"):
        schedule.rate("binance", "spot", "maker", -1.0)


def test_fee_schedule_tiers_not_ascending_raise_configuration_error() -> None:
    data = {"x": {"spot": {"tiers": [{"min_volume_usd": 0, "maker_pct": "0.1", "taker_pct": "0.2"}] * 2}}}
    with pytest.raises(ConfigurationError, match="x/spot: tiers must start at min_volume_usd 0 and strictly ascend"):
        FeeSchedule.from_mapping(data)


def test_fee_schedule_tier_without_rates_raises_configuration_error() -> None:
    data = {"x": {"spot": {"tiers": [{"min_volume_usd": 0}]}}}
    with pytest.raises(ConfigurationError, match="each tier needs min_volume_usd, maker_pct and taker_pct"):
        FeeSchedule.from_mapping(data)


def test_fee_schedule_unknown_market_type_in_data_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="market type must be one of spot, linear_perp"):
        FeeSchedule.from_mapping({"x": {"options": {"tiers": []}}})


def test_fee_schedule_load_from_path_reads_custom_file(tmp_path: Path) -> None:
    path = tmp_path / "fees.yaml"
    path.write_text('paper:\n  spot:\n    tiers:\n      - {min_volume_usd: 0, maker_pct: "0", taker_pct: "0.05"}\n')
    assert FeeSchedule.load(path).rate("paper", "spot", "taker") == Decimal("0.0005")
