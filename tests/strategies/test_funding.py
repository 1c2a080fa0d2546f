from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from traider.strategies.base import BAR_COLUMNS, Bar
from traider.strategies.funding import FundingDrift, with_funding
from traider.strategies.lookahead import check_lookahead

FUTURES = Path("freqtrade") / "tests" / "testdata" / "futures"


@pytest.fixture(scope="module")
def perp(shared_data: Path) -> pd.DataFrame:
    from traider.marketdata.files.dispatch import open_file_source
    from traider.marketdata.records import Stream

    bars = pd.read_feather(shared_data / FUTURES / "XRP_USDT_USDT-5m-futures.feather").set_index("date")
    source = open_file_source(shared_data / FUTURES / "XRP_USDT_USDT-8h-funding_rate.feather", venue="binance",
                              symbol="XRP/USDT:USDT", timeframe="8h", stream=Stream.FUNDING_RATES)  # fmt: skip
    funding = pd.concat([batch.frame for batch in source.read(Stream.FUNDING_RATES)])
    return with_funding(bars, funding)


def _bars(rates: list[float], spot: list[float] | None = None) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(rates), freq="1h", tz="UTC")
    frame = pd.DataFrame({"open": 100.0, "high": 100.0, "low": 100.0, "close": 100.0, "volume": 1.0,
                          "funding_rate": rates}, index=index)  # fmt: skip
    return frame if spot is None else frame.assign(spot_close=spot)


def test_positive_funding_drift_goes_short_and_negative_goes_long() -> None:
    strategy = FundingDrift(span=1, threshold=0.0001, full_size_rate=0.0004, min_change=0.25)
    targets = strategy.targets(_bars([0.0, 0.0003, -0.0002, 0.00005, 0.001]))
    # warm-up bar, then −0.0003/0.0004 = 0.75 short, 0.5 long, below threshold flat, capped at 1 short
    assert targets.tolist() == [0.0, -0.75, 0.5, 0.0, -1.0]


def test_a_perpetual_above_spot_predicts_higher_funding() -> None:
    strategy = FundingDrift(span=1, threshold=0.0001, full_size_rate=0.0004, basis_weight=1.0)
    # no funding yet, but the perpetual trades 0.03% above spot: predicted 0.0003 → 0.75 short
    targets = strategy.targets(_bars([0.0, 0.0], spot=[100.0, 100.0 / 1.0003]))
    assert targets.iloc[1] == pytest.approx(-0.75)


def test_funding_drift_stream_gives_exactly_its_targets_on_real_data(perp: pd.DataFrame) -> None:
    strategy = FundingDrift(span=12, threshold=0.00002, full_size_rate=0.0002)
    stream = strategy.stream()
    stamps = perp.index.as_unit("ns").asi8.tolist()
    streamed = []
    for ts, (_, row) in zip(stamps, perp.iterrows(), strict=True):
        extra = {"funding_rate": float(row["funding_rate"])}
        streamed.append(stream.update(Bar(ts, *(float(row[name]) for name in BAR_COLUMNS), extra)))
    assert streamed == strategy.targets(perp).tolist()
    assert min(streamed) < 0.0


def test_funding_drift_passes_the_lookahead_check(perp: pd.DataFrame) -> None:
    assert check_lookahead(FundingDrift(span=12), perp, cuts=8).clean


def test_with_funding_uses_only_rates_settled_by_each_bars_close() -> None:
    index = pd.date_range("2024-01-01", periods=3, freq="8h", tz="UTC")
    bars = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}, index=index)
    funding = pd.DataFrame({"ts": index + pd.Timedelta("8h"), "rate": [0.1, 0.2, 0.3]})
    # bar 0 closes at 08:00, when the 08:00 rate settles; nothing settled later is visible
    assert with_funding(bars, funding)["funding_rate"].tolist() == [0.1, 0.2, 0.3]
    assert with_funding(bars, funding.assign(ts=funding["ts"] + pd.Timedelta("1s")))["funding_rate"].isna().iloc[0]


def test_funding_drift_without_funding_column_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="with_funding"):
        FundingDrift().targets(_bars([0.0]).drop(columns="funding_rate"))
