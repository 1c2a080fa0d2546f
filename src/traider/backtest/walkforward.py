"""Walk-forward and purged k-fold splits of a time index, and stitching of out-of-sample results.

Both split functions return `Fold`s of integer positions into the index, so the backtesting engine
(`walk_forward_splits` + `stitch_out_of_sample`) and model training (`purged_kfold_splits`, or
`walk_forward_splits` for purged walk-forward CV) share one implementation of purging and embargo
(López de Prado, *Advances in Financial Machine Learning*, ch. 7).

Each sample i spans `[index[i], t1[i]]`: its label is known at `t1[i] = label_end[i]`, or at `index[i]`
when no `label_end` is given. For a test window whose bars start at time `test_start`, whose last bar
is at `test_last` and whose labels end at `test_label_end = max(test_last, t1 over the test window)`:

- test positions are never training positions;
- purge: drop training samples with `t1 >= purge_start`, where `purge_start` is `test_start - purge`
  for a duration, or the time of the bar `purge` bars before the first test bar for a bar count
  (`purge=0`: `purge_start = test_start`). Training samples after the test window that start at or
  before `test_label_end` are dropped too (their spans overlap test labels);
- embargo: drop training samples that start in `(test_label_end, test_label_end + embargo]` for a
  duration, or the `embargo` bars after `test_label_end` for a bar count (a float in [0, 1) is a
  fraction of the index length, rounded down, as in López de Prado's `PurgedKFold`).

In walk-forward every training sample precedes its test window, so the embargo removes nothing there:
it only matters where training data follows the test window (`purged_kfold_splits`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from traider.errors import TraiderError

Positions = npt.NDArray[np.intp]
Length = int | timedelta
"""A number of bars, or a duration (`datetime.timedelta` or `pandas.Timedelta`)."""
Embargo = int | float | timedelta
"""A number of bars, a fraction of the index length in [0, 1), or a duration."""


class WalkForwardError(TraiderError):
    """A split specification or its input cannot produce valid folds."""


@dataclass(frozen=True)
class WalkForwardSpec:
    """How to cut an index into walk-forward folds.

    `train_length`, `test_length` and `step` are all bars or all durations. The first test window
    starts `train_length` after the start of the index; each next one starts `step` later, until the
    end of the index (the last test window may be shorter). A rolling train window is the
    `train_length` before its test window; an expanding one starts at the beginning of the index.
    `purge` and `embargo` follow the rules in the module docstring. Folds with fewer than
    `min_train_size` training samples left after purging are skipped; the others are numbered from 0.
    """

    train_length: Length
    test_length: Length
    scheme: Literal["rolling", "expanding"] = "rolling"
    step: Length | None = None
    purge: Length = 0
    embargo: Embargo = 0
    min_train_size: int = 1

    def __post_init__(self) -> None:
        """Reject invalid lengths with a message saying what to change."""
        if self.scheme not in ("rolling", "expanding"):
            raise WalkForwardError(f"scheme must be 'rolling' or 'expanding', not {self.scheme!r}")
        windows = {"train_length": self.train_length, "test_length": self.test_length, "step": self.step_length}
        for name, value in windows.items():
            _check_length(name, value, positive=True)
        if len({isinstance(value, timedelta) for value in windows.values()}) > 1:
            raise WalkForwardError("train_length, test_length and step must all be bars (int) or all durations")
        _check_length("purge", self.purge, positive=False)
        _check_embargo(self.embargo)
        if self.min_train_size < 1:
            raise WalkForwardError(f"min_train_size must be at least 1, not {self.min_train_size}")

    @property
    def step_length(self) -> Length:
        """Return the distance between consecutive test windows (the test length unless `step` is set)."""
        return self.test_length if self.step is None else self.step


@dataclass(frozen=True, eq=False)
class Fold:
    """One split: read-only positions into the index and the (first, last) timestamps they cover."""

    number: int
    train_index: Positions
    test_index: Positions
    train_span: tuple[pd.Timestamp, pd.Timestamp]
    test_span: tuple[pd.Timestamp, pd.Timestamp]


def walk_forward_splits(
    index: pd.DatetimeIndex, spec: WalkForwardSpec, label_end: pd.Series | None = None
) -> list[Fold]:
    """Cut `index` into walk-forward folds, purging training labels that reach into the test window."""
    label_ends = _label_ends(index, label_end)
    folds: list[Fold] = []
    for train_start, test_start, test_stop in _windows(index, spec):
        train = np.arange(train_start, test_start, dtype=np.intp)
        test = np.arange(test_start, test_stop, dtype=np.intp)
        train = _purge_and_embargo(index, label_ends, train, test, spec.purge, spec.embargo)
        if len(train) >= spec.min_train_size:
            folds.append(_fold(len(folds), index, train, test))
    if not folds:
        raise WalkForwardError(
            f"no fold fits in {len(index)} bars with {spec}: use a longer index or shorter train/test lengths"
        )
    return folds


def purged_kfold_splits(
    index: pd.DatetimeIndex, n_splits: int, label_end: pd.Series | None = None, embargo: Embargo = 0
) -> list[Fold]:
    """Cut `index` into `n_splits` contiguous test folds, training on both sides with purge and embargo."""
    if not 2 <= n_splits <= len(index):
        raise WalkForwardError(f"n_splits must be between 2 and the index length {len(index)}, not {n_splits}")
    _check_embargo(embargo)
    label_ends = _label_ends(index, label_end)
    everything = np.arange(len(index), dtype=np.intp)
    folds: list[Fold] = []
    for number, test in enumerate(np.array_split(everything, n_splits)):
        train = np.setdiff1d(everything, test).astype(np.intp)
        train = _purge_and_embargo(index, label_ends, train, test, 0, embargo)
        if len(train) == 0:
            raise WalkForwardError(f"fold {number} has no training samples left: reduce the embargo or label horizon")
        folds.append(_fold(number, index, train, test))
    return folds


def stitch_out_of_sample(
    fold_results: list[pd.Series],
    kind: Literal["returns", "equity"] = "returns",
    initial_equity: float = 1.0,
) -> pd.Series:
    """Join per-fold out-of-sample results, in fold order, into one series.

    Returns are concatenated. Each fold's equity curve is assumed to start from `initial_equity`
    before its first bar; it is rescaled to start from the previous fold's final equity, so the
    stitched curve compounds fold after fold. Test windows that overlap or are out of order are an
    error; empty results are skipped.
    """
    results = [result for result in fold_results if len(result) > 0]
    for number, result in enumerate(results):
        if not isinstance(result.index, pd.DatetimeIndex) or not result.index.is_monotonic_increasing:
            raise WalkForwardError(f"result {number} must have a sorted DatetimeIndex")
    for number in range(1, len(results)):
        previous_end, start = results[number - 1].index[-1], results[number].index[0]
        if start <= previous_end:
            raise WalkForwardError(
                f"result {number} starts at {start}, not after the previous one ends at {previous_end}: "
                "test windows overlap; use step >= test_length"
            )
    if not results:
        return pd.Series(dtype=float)
    if kind == "returns":
        returns: pd.Series = pd.concat(results)
        return returns
    if initial_equity <= 0:
        raise WalkForwardError(f"initial_equity must be positive, not {initial_equity}")
    chained: list[pd.Series] = []
    equity = initial_equity
    for result in results:
        chained.append(result * (equity / initial_equity))
        equity = float(chained[-1].iloc[-1])
    stitched: pd.Series = pd.concat(chained)
    return stitched


def _windows(index: pd.DatetimeIndex, spec: WalkForwardSpec) -> list[tuple[int, int, int]]:
    """Return (train start, test start, test stop) positions of every non-empty test window."""
    bars = len(index)
    train, test, step = spec.train_length, spec.test_length, spec.step_length
    windows: list[tuple[int, int, int]] = []
    if isinstance(train, int) and isinstance(test, int) and isinstance(step, int):
        for test_start in range(train, bars, step):
            train_start = 0 if spec.scheme == "expanding" else test_start - train
            windows.append((train_start, test_start, min(test_start + test, bars)))
        return windows
    assert isinstance(train, timedelta) and isinstance(test, timedelta) and isinstance(step, timedelta)
    if bars == 0:
        return windows
    test_time = index[0] + train
    while test_time <= index[-1]:
        test_start = int(index.searchsorted(test_time, side="left"))
        test_stop = int(index.searchsorted(test_time + test, side="left"))
        train_start = 0 if spec.scheme == "expanding" else int(index.searchsorted(test_time - train, side="left"))
        if test_stop > test_start:
            windows.append((train_start, test_start, test_stop))
        test_time += step
    return windows


def _purge_and_embargo(
    index: pd.DatetimeIndex,
    label_ends: pd.DatetimeIndex,
    train: Positions,
    test: Positions,
    purge: Length,
    embargo: Embargo,
) -> Positions:
    """Drop from `train` the samples whose spans overlap the contiguous `test` window, purge and embargo."""
    first, last = int(test[0]), int(test[-1])
    purge_start = index[first] - purge if isinstance(purge, timedelta) else index[max(first - purge, 0)]
    test_label_end = max(index[last], label_ends[first : last + 1].max())
    starts, ends = index[train], label_ends[train]
    before = (starts < index[first]) & (ends < purge_start)
    after = starts > test_label_end
    if isinstance(embargo, timedelta):
        after &= starts > test_label_end + embargo
    else:
        bars = embargo if isinstance(embargo, int) else math.floor(embargo * len(index))
        first_after = int(index.searchsorted(test_label_end, side="right"))
        after &= train >= first_after + bars
    kept: Positions = train[np.asarray(before | after)]
    return kept


def _fold(number: int, index: pd.DatetimeIndex, train: Positions, test: Positions) -> Fold:
    """Build a fold with read-only positions."""
    train.flags.writeable = False
    test.flags.writeable = False
    return Fold(
        number=number,
        train_index=train,
        test_index=test,
        train_span=(index[train[0]], index[train[-1]]),
        test_span=(index[test[0]], index[test[-1]]),
    )


def _label_ends(index: pd.DatetimeIndex, label_end: pd.Series | None) -> pd.DatetimeIndex:
    """Return each sample's label end time, checked against `index` (the sample's own time by default)."""
    if not isinstance(index, pd.DatetimeIndex) or not index.is_monotonic_increasing or not index.is_unique:
        raise WalkForwardError("index must be a sorted DatetimeIndex without duplicates")
    if label_end is None:
        return index
    if not label_end.index.equals(index):
        raise WalkForwardError("label_end must be indexed by the same timestamps as index")
    ends = pd.DatetimeIndex(label_end)
    if (ends.tz is None) != (index.tz is None):
        raise WalkForwardError(f"label_end has time zone {ends.tz}, index has {index.tz}: use the same one")
    if ends.tz is not None:
        ends = ends.tz_convert(index.tz)  # the same zone may be two objects (datetime.UTC vs zoneinfo UTC)
    if ends.hasnans or bool((ends < index).any()):
        raise WalkForwardError("every label_end must be set and not before its sample's timestamp")
    return ends


def _check_length(name: str, value: Length, *, positive: bool) -> None:
    """Reject a bar count or duration that is negative (or zero when `positive`)."""
    if isinstance(value, bool) or not isinstance(value, int | timedelta):
        raise WalkForwardError(f"{name} must be a number of bars (int) or a duration (timedelta), not {value!r}")
    sign = (
        (value > timedelta(0)) - (value < timedelta(0)) if isinstance(value, timedelta) else (value > 0) - (value < 0)
    )
    if sign < 0 or (positive and sign == 0):
        raise WalkForwardError(f"{name} must be {'positive' if positive else 'zero or more'}, not {value!r}")


def _check_embargo(embargo: Embargo) -> None:
    """Reject an embargo that is not bars, a fraction in [0, 1) or a non-negative duration."""
    if isinstance(embargo, float) and not 0 <= embargo < 1:
        raise WalkForwardError(f"an embargo fraction must be in [0, 1), not {embargo}")
    if not isinstance(embargo, float):
        _check_length("embargo", embargo, positive=False)
