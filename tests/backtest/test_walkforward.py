"""Walk-forward and purged k-fold splits: exact hand-computed folds, leakage properties and stitching."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traider.backtest.walkforward import (
    Fold,
    WalkForwardError,
    WalkForwardSpec,
    purged_kfold_splits,
    stitch_out_of_sample,
    walk_forward_splits,
)

HOUR = timedelta(hours=1)


def hourly(bars: int) -> pd.DatetimeIndex:
    """Return `bars` hourly timestamps from 2026-01-01 00:00 UTC."""
    return pd.date_range("2026-01-01", periods=bars, freq="h", tz="UTC")


def horizon_label_end(index: pd.DatetimeIndex, bars: int) -> pd.Series:
    """Return label ends `bars` bars after each sample, capped at the last bar."""
    ends = [index[min(position + bars, len(index) - 1)] for position in range(len(index))]
    return pd.Series(ends, index=index)


def positions(fold: Fold) -> tuple[list[int], list[int]]:
    """Return a fold's train and test positions as lists."""
    return fold.train_index.tolist(), fold.test_index.tolist()


def span(start: int, stop: int) -> list[int]:
    """Return the positions start..stop inclusive."""
    return list(range(start, stop + 1))


def test_walk_forward_splits_rolling_bars_exact_windows() -> None:
    folds = walk_forward_splits(hourly(20), WalkForwardSpec(train_length=8, test_length=4))
    assert [positions(fold) for fold in folds] == [
        (span(0, 7), span(8, 11)),
        (span(4, 11), span(12, 15)),
        (span(8, 15), span(16, 19)),
    ]
    assert [fold.number for fold in folds] == [0, 1, 2]


def test_walk_forward_splits_expanding_bars_train_starts_at_zero() -> None:
    folds = walk_forward_splits(hourly(20), WalkForwardSpec(train_length=8, test_length=4, scheme="expanding"))
    assert [positions(fold) for fold in folds] == [
        (span(0, 7), span(8, 11)),
        (span(0, 11), span(12, 15)),
        (span(0, 15), span(16, 19)),
    ]


def test_walk_forward_splits_durations_match_bars_on_regular_index() -> None:
    index = hourly(20)
    by_bars = walk_forward_splits(index, WalkForwardSpec(train_length=8, test_length=4, step=2))
    by_time = walk_forward_splits(index, WalkForwardSpec(train_length=8 * HOUR, test_length=4 * HOUR, step=2 * HOUR))
    assert [positions(fold) for fold in by_time] == [positions(fold) for fold in by_bars]
    assert len(by_bars) == 6


def test_walk_forward_splits_last_window_shorter_covers_end_of_index() -> None:
    folds = walk_forward_splits(hourly(20), WalkForwardSpec(train_length=8, test_length=5))
    assert [fold.test_index.tolist() for fold in folds] == [span(8, 12), span(13, 17), span(18, 19)]


def test_walk_forward_splits_durations_with_missing_bars_select_by_time() -> None:
    index = hourly(20).delete([9, 10, 11])  # 09:00-11:00 missing: the second test window [08:00, 12:00) has one bar
    spec = WalkForwardSpec(train_length=8 * HOUR, test_length=4 * HOUR)
    folds = walk_forward_splits(index, spec)
    assert [positions(fold) for fold in folds] == [
        (span(0, 7), [8]),
        (span(4, 8), span(9, 12)),  # 04:00..08:00 (4 bars lost to the gap), test 12:00..15:00
        (span(8, 12), span(13, 16)),
    ]
    assert folds[1].train_span == (index[4], index[8])
    assert folds[1].test_span == (index[9], index[12])


def test_walk_forward_splits_purge_bars_drops_last_bars_before_test() -> None:
    folds = walk_forward_splits(hourly(20), WalkForwardSpec(train_length=8, test_length=4, purge=2))
    assert [fold.train_index.tolist() for fold in folds] == [span(0, 5), span(4, 9), span(8, 13)]


def test_walk_forward_splits_purge_duration_drops_last_hours_before_test() -> None:
    folds = walk_forward_splits(hourly(20), WalkForwardSpec(train_length=8, test_length=4, purge=2 * HOUR))
    assert [fold.train_index.tolist() for fold in folds] == [span(0, 5), span(4, 9), span(8, 13)]


def test_walk_forward_splits_label_end_drops_labels_reaching_test() -> None:
    index = hourly(20)
    # 3-bar labels: sample i ends at bar i + 3, so it reaches a test window starting at s when i >= s - 3.
    folds = walk_forward_splits(index, WalkForwardSpec(train_length=8, test_length=4), horizon_label_end(index, 3))
    assert [fold.train_index.tolist() for fold in folds] == [span(0, 4), span(4, 8), span(8, 12)]


def test_walk_forward_splits_single_long_label_dropped_only_where_it_reaches_test() -> None:
    index = hourly(20)
    label_end = pd.Series(index, index=index)
    label_end.iloc[2] = index[9]  # sample 2's label ends inside the first test window [8, 11], before the second
    spec = WalkForwardSpec(train_length=8, test_length=4, scheme="expanding")
    folds = walk_forward_splits(index, spec, label_end)
    assert folds[0].train_index.tolist() == [0, 1, *span(3, 7)]
    assert folds[1].train_index.tolist() == span(0, 11)


def test_walk_forward_splits_embargo_removes_nothing_from_walk_forward() -> None:
    index = hourly(20)
    plain = walk_forward_splits(index, WalkForwardSpec(train_length=8, test_length=4, scheme="expanding"))
    embargoed = walk_forward_splits(
        index, WalkForwardSpec(train_length=8, test_length=4, scheme="expanding", embargo=3)
    )
    assert [positions(fold) for fold in embargoed] == [positions(fold) for fold in plain]


def test_walk_forward_splits_small_purged_train_skips_fold() -> None:
    spec = WalkForwardSpec(train_length=2, test_length=2, scheme="expanding", purge=1, min_train_size=3)
    folds = walk_forward_splits(hourly(8), spec)
    # The window at test start 2 keeps only bar 0 after purging and is skipped; numbering stays dense.
    assert [positions(fold) for fold in folds] == [(span(0, 2), [4, 5]), (span(0, 4), [6, 7])]
    assert [fold.number for fold in folds] == [0, 1]


def test_walk_forward_splits_index_too_short_raises() -> None:
    with pytest.raises(WalkForwardError, match="no fold fits"):
        walk_forward_splits(hourly(8), WalkForwardSpec(train_length=8, test_length=4))


def test_walk_forward_splits_unsorted_index_raises() -> None:
    with pytest.raises(WalkForwardError, match="sorted DatetimeIndex"):
        walk_forward_splits(hourly(20)[::-1], WalkForwardSpec(train_length=8, test_length=4))


def test_walk_forward_splits_label_end_before_sample_raises() -> None:
    index = hourly(20)
    label_end = pd.Series(index, index=index)
    label_end.iloc[5] = index[4]
    with pytest.raises(WalkForwardError, match="not before its sample"):
        walk_forward_splits(index, WalkForwardSpec(train_length=8, test_length=4), label_end)


def test_walk_forward_splits_label_end_other_index_raises() -> None:
    index = hourly(20)
    with pytest.raises(WalkForwardError, match="same timestamps"):
        walk_forward_splits(index, WalkForwardSpec(train_length=8, test_length=4), horizon_label_end(hourly(21), 1))


def test_fold_positions_are_read_only() -> None:
    fold = walk_forward_splits(hourly(20), WalkForwardSpec(train_length=8, test_length=4))[0]
    with pytest.raises(ValueError, match="read-only"):
        fold.train_index[0] = 5


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"train_length": 8, "test_length": 4 * HOUR}, "all be bars"),
        ({"train_length": 0, "test_length": 4}, "train_length must be positive"),
        ({"train_length": 8, "test_length": 4, "step": 0}, "step must be positive"),
        ({"train_length": 8, "test_length": 4, "purge": -1}, "purge must be zero or more"),
        ({"train_length": 8, "test_length": 4, "purge": -HOUR}, "purge must be zero or more"),
        ({"train_length": True, "test_length": 4}, "number of bars"),
        ({"train_length": 8, "test_length": 4, "embargo": 1.5}, r"fraction must be in \[0, 1\)"),
        ({"train_length": 8, "test_length": 4, "min_train_size": 0}, "min_train_size"),
        ({"train_length": 8, "test_length": 4, "scheme": "sliding"}, "scheme"),
    ],
)
def test_walk_forward_spec_invalid_values_raise(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(WalkForwardError, match=message):
        WalkForwardSpec(**arguments)  # type: ignore[arg-type]


def test_purged_kfold_splits_no_labels_trains_on_both_sides() -> None:
    folds = purged_kfold_splits(hourly(20), n_splits=4)
    assert [positions(fold) for fold in folds] == [
        (span(5, 19), span(0, 4)),
        ([*span(0, 4), *span(10, 19)], span(5, 9)),
        ([*span(0, 9), *span(15, 19)], span(10, 14)),
        (span(0, 14), span(15, 19)),
    ]


@pytest.mark.parametrize("embargo", [2, 0.1, 2 * HOUR])
def test_purged_kfold_splits_embargo_drops_bars_after_test(embargo: int | float | timedelta) -> None:
    folds = purged_kfold_splits(hourly(20), n_splits=4, embargo=embargo)
    assert [fold.train_index.tolist() for fold in folds] == [
        span(7, 19),
        [*span(0, 4), *span(12, 19)],
        [*span(0, 9), *span(17, 19)],
        span(0, 14),
    ]


def test_purged_kfold_splits_label_end_purges_both_sides_then_embargoes() -> None:
    index = hourly(20)
    folds = purged_kfold_splits(index, n_splits=4, label_end=horizon_label_end(index, 3), embargo=2)
    # Test 5..9: left samples ending at or after bar 5 (i >= 2) go; test labels end at bar 12, so right
    # samples start after bar 12, and the embargo drops bars 13 and 14.
    assert folds[1].train_index.tolist() == [0, 1, *span(15, 19)]
    assert folds[3].train_index.tolist() == span(0, 11)


def test_purged_kfold_splits_one_split_raises() -> None:
    with pytest.raises(WalkForwardError, match="n_splits"):
        purged_kfold_splits(hourly(20), n_splits=1)


def test_stitch_out_of_sample_returns_concatenated() -> None:
    index = hourly(4)
    stitched = stitch_out_of_sample([pd.Series([0.1, 0.2], index=index[:2]), pd.Series([-0.1, 0.0], index=index[2:])])
    pd.testing.assert_series_equal(stitched, pd.Series([0.1, 0.2, -0.1, 0.0], index=index))


def test_stitch_out_of_sample_equity_chained_multiplicatively() -> None:
    index = hourly(4)
    first = pd.Series([110.0, 121.0], index=index[:2])
    second = pd.Series([90.0, 99.0], index=index[2:])
    stitched = stitch_out_of_sample([first, second], kind="equity", initial_equity=100.0)
    pd.testing.assert_series_equal(stitched, pd.Series([110.0, 121.0, 108.9, 119.79], index=index))


def test_stitch_out_of_sample_overlapping_windows_raise() -> None:
    index = hourly(4)
    with pytest.raises(WalkForwardError, match="overlap"):
        stitch_out_of_sample([pd.Series([0.1, 0.2], index=index[:2]), pd.Series([0.3, 0.4], index=index[1:3])])


def test_stitch_out_of_sample_no_results_returns_empty_series() -> None:
    assert stitch_out_of_sample([pd.Series(dtype=float)]).empty


@st.composite
def walk_forward_cases(draw: st.DrawFn) -> tuple[pd.DatetimeIndex, WalkForwardSpec, pd.Series]:
    """Draw an hourly index with gaps, a bar or duration spec and random label horizons."""
    kept = draw(st.lists(st.booleans(), min_size=10, max_size=60))
    index = hourly(len(kept))[[position for position, keep in enumerate(kept) if keep or position == 0]]
    lengths = st.integers(min_value=1, max_value=12)
    train, test, step = draw(lengths), draw(lengths), draw(st.none() | lengths)
    purge = draw(st.integers(min_value=0, max_value=4))
    if draw(st.booleans()):
        spec = WalkForwardSpec(
            train_length=train * HOUR,
            test_length=test * HOUR,
            step=None if step is None else step * HOUR,
            purge=purge * HOUR,
            scheme=draw(st.sampled_from(["rolling", "expanding"])),
        )
    else:
        spec = WalkForwardSpec(
            train_length=train,
            test_length=test,
            step=step,
            purge=purge,
            scheme=draw(st.sampled_from(["rolling", "expanding"])),
        )
    horizons = draw(st.lists(st.integers(min_value=0, max_value=5), min_size=len(index), max_size=len(index)))
    ends = [index[min(position + horizon, len(index) - 1)] for position, horizon in enumerate(horizons)]
    return index, spec, pd.Series(ends, index=index)


@settings(max_examples=150, deadline=None)
@given(walk_forward_cases())
def test_walk_forward_splits_random_specs_never_leak(case: tuple[pd.DatetimeIndex, WalkForwardSpec, pd.Series]) -> None:
    index, spec, label_end = case
    try:
        folds = walk_forward_splits(index, spec, label_end)
    except WalkForwardError:
        return
    for fold in folds:
        test = fold.test_index
        assert np.array_equal(test, np.arange(test[0], test[-1] + 1))
        assert np.all(np.diff(fold.train_index) > 0)
        assert not set(fold.train_index.tolist()) & set(test.tolist())
        assert label_end.iloc[fold.train_index].max() < index[test[0]]
    if spec.step is None:
        starts = [fold.test_index[0] for fold in folds]
        stops = [fold.test_index[-1] for fold in folds]
        assert all(stop < start for stop, start in zip(stops, starts[1:], strict=False))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=12),
    st.sampled_from(["rolling", "expanding"]),
)
def test_walk_forward_splits_step_equal_test_tiles_evaluated_range(
    bars: int, train: int, test: int, scheme: Literal["rolling", "expanding"]
) -> None:
    spec = WalkForwardSpec(train_length=train, test_length=test, scheme=scheme)
    if bars <= train:
        with pytest.raises(WalkForwardError):
            walk_forward_splits(hourly(bars), spec)
        return
    folds = walk_forward_splits(hourly(bars), spec)
    assert np.array_equal(np.concatenate([fold.test_index for fold in folds]), np.arange(train, bars))
    for fold in folds:
        expected_start = 0 if scheme == "expanding" else fold.test_index[0] - train
        assert np.array_equal(fold.train_index, np.arange(expected_start, fold.test_index[0]))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=4, max_value=40).flatmap(
        lambda bars: st.tuples(
            st.just(bars),
            st.integers(min_value=2, max_value=4),
            st.lists(st.integers(min_value=0, max_value=3), min_size=bars, max_size=bars),
            st.integers(min_value=0, max_value=2),
        )
    )
)
def test_purged_kfold_splits_random_labels_train_never_overlaps_test(case: tuple[int, int, list[int], int]) -> None:
    bars, n_splits, horizons, embargo = case
    index = hourly(bars)
    label_end = pd.Series([index[min(i + h, bars - 1)] for i, h in enumerate(horizons)], index=index)
    try:
        folds = purged_kfold_splits(index, n_splits, label_end, embargo)
    except WalkForwardError:
        return
    assert np.array_equal(np.concatenate([fold.test_index for fold in folds]), np.arange(bars))
    for fold in folds:
        test_start, test_label_end = index[fold.test_index[0]], label_end.iloc[fold.test_index].max()
        for position in fold.train_index:
            starts_after = index[position] > test_label_end + embargo * HOUR
            assert label_end.iloc[position] < test_start or starts_after
