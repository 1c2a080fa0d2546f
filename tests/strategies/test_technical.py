from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from traider.strategies.base import STRATEGY_INTERFACE_VERSION, Strategy
from traider.strategies.indicators import ema, rsi
from traider.strategies.lookahead import check_lookahead
from traider.strategies.technical import EmaCrossover, RsiMeanReversion


def _real_bars(shared_data: Path) -> pd.DataFrame:
    path = shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather"
    return pd.read_feather(path).set_index("date").iloc[:1500]


class PeekingStrategy(Strategy):
    """Goes long when the NEXT bar closes higher: a look-ahead bug on purpose."""

    name = "peeking"

    def indicators(self, bars: pd.DataFrame) -> pd.DataFrame:
        return bars.assign(next_close=bars["close"].shift(-1))

    def target_position(self, frame: pd.DataFrame) -> pd.Series:
        return (frame["next_close"] > frame["close"]).astype("float64")


def test_ema_hand_computed() -> None:
    values = pd.Series([1.0, 2.0, 3.0])
    assert ema(values, 3).tolist() == [1.0, 1.5, 2.25]  # alpha = 2 / (3 + 1) = 0.5


def test_rsi_of_steady_rise_is_100_and_of_steady_fall_is_0() -> None:
    assert rsi(pd.Series(range(1, 30), dtype="float64"), 14).iloc[-1] == 100.0
    assert rsi(pd.Series(range(30, 1, -1), dtype="float64"), 14).iloc[-1] == 0.0


def test_strategies_declare_interface_version() -> None:
    assert EmaCrossover.interface_version == RsiMeanReversion.interface_version == STRATEGY_INTERFACE_VERSION


def test_ema_crossover_targets_are_long_or_flat_and_zero_in_warmup(shared_data: Path) -> None:
    strategy = EmaCrossover(fast=5, slow=20)
    targets = strategy.targets(_real_bars(shared_data))
    assert set(targets.unique()) == {0.0, 1.0}
    assert (targets.iloc[:20] == 0.0).all()


@pytest.mark.parametrize("strategy", [EmaCrossover(5, 20), RsiMeanReversion(14, 30, 55)], ids=lambda s: s.name)
def test_lookahead_check_passes_causal_strategies_on_real_data(strategy: Strategy, shared_data: Path) -> None:
    report = check_lookahead(strategy, _real_bars(shared_data), cuts=15)
    assert report.clean, report
    assert len(report.cuts) >= 10


def test_lookahead_check_flags_a_strategy_that_peeks_one_bar_ahead(shared_data: Path) -> None:
    report = check_lookahead(PeekingStrategy(), _real_bars(shared_data), cuts=15)
    assert not report.clean
    assert report.first_biased_bar is not None


@pytest.mark.parametrize("strategy", [EmaCrossover(5, 20), RsiMeanReversion(14, 30, 55)], ids=lambda s: s.name)
def test_on_bar_equals_the_vectorised_target_of_the_same_bar(strategy: Strategy, shared_data: Path) -> None:
    bars = _real_bars(shared_data)
    full = strategy.targets(bars)
    for end in (100, 500, 1499):
        assert strategy.on_bar(bars.iloc[: end + 1]) == full.iloc[end]


def test_rsi_mean_reversion_enters_below_entry_and_exits_above_exit(shared_data: Path) -> None:
    strategy = RsiMeanReversion(14, 30, 55)
    frame = strategy.indicators(_real_bars(shared_data))
    targets = strategy.targets(_real_bars(shared_data))
    entries = targets.diff() == 1.0
    exits = targets.diff() == -1.0
    assert entries.any() and exits.any()
    assert (frame.loc[entries, "rsi"] < 30).all()
    assert (frame.loc[exits, "rsi"] > 55).all()


def test_streaming_ema_equals_pandas_bit_for_bit(shared_data: Path) -> None:
    from traider.strategies.indicators import StreamingEma, ema

    close = _real_bars(shared_data)["close"]
    for span in (1, 2, 12, 26, 200):
        stream = StreamingEma(span)
        assert [stream.update(value) for value in close.tolist()] == ema(close, span).tolist()


@pytest.mark.parametrize("allow_short", [False, True])
def test_ema_crossover_stream_gives_exactly_the_vectorised_targets(shared_data: Path, allow_short: bool) -> None:
    from traider.strategies.base import Bar

    bars = _real_bars(shared_data)
    strategy = EmaCrossover(fast=10, slow=40, allow_short=allow_short)
    stream = strategy.stream()
    streamed = [
        stream.update(Bar(0, *row)) for row in bars[["open", "high", "low", "close", "volume"]].itertuples(index=False)
    ]
    assert streamed == strategy.targets(bars).tolist()
    assert len(set(streamed)) > 1


def test_default_history_stream_gives_the_vectorised_targets(shared_data: Path) -> None:
    from traider.strategies.base import Bar

    bars = _real_bars(shared_data).iloc[:300]
    strategy = RsiMeanReversion(period=14, entry=35.0, exit=55.0)
    stream = strategy.stream()
    stamps = bars.index.as_unit("ns").asi8.tolist()
    streamed = [
        stream.update(Bar(ts, *row))
        for ts, row in zip(
            stamps, bars[["open", "high", "low", "close", "volume"]].itertuples(index=False), strict=True
        )
    ]
    assert streamed == strategy.targets(bars).tolist()
    assert 0.0 in streamed and 1.0 in streamed
