"""Parity: the dbt models and their pandas twin (traider.features.online) agree to 1e-9 on the shared data.

The twin starts from the shared files themselves (read by the project's file sources), keeps the rows
of the windows the quality gate passed, and computes every feature in pandas; the models' rows are read
back from the database. This is the contract the live worker relies on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from tests.features.conftest import BuiltFeatures
from tests.features.market import (
    BOOK,
    UNITTEST_5M,
    XRP_ETH_5M,
    XRP_ETH_TRADES,
    XRP_FUNDING,
    XRP_PERP_5M,
    XRP_PERP_WINDOWS,
    passed_rows,
    read_rows,
)
from traider.features import online

TOLERANCE = 1e-9
BAR_COLUMNS = ("open", "high", "low", "close", "volume", "available_at", *online.BAR_FEATURES)


def assert_close(ours: pd.DataFrame, twin: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Assert equal missing values and |a - b| <= 1e-9 * max(1, |b|) in every column (timestamps exactly)."""
    assert len(ours) == len(twin) > 0
    for column in columns:
        left, right = ours[column].reset_index(drop=True), twin[column].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(right):
            assert (left.isna() == right.isna()).all() and (left[left.notna()] == right[right.notna()]).all(), column
            continue
        left_values, right_values = left.to_numpy(dtype="float64"), right.to_numpy(dtype="float64")
        assert (np.isnan(left_values) == np.isnan(right_values)).all(), f"{column}: missing values differ"
        known = ~np.isnan(right_values)
        error = np.abs(left_values[known] - right_values[known]) / np.maximum(1.0, np.abs(right_values[known]))
        assert error.max(initial=0.0) <= TOLERANCE, f"{column}: off by {error.max():.3g}"


def _features(built: BuiltFeatures, symbol: str, table: str = "features.features") -> pd.DataFrame:
    with built.admin.connect() as connection:
        return pd.read_sql(
            text(f"SELECT * FROM {table} WHERE symbol = :symbol AND timeframe = '1h' ORDER BY ts"),
            connection,
            params={"symbol": symbol},
        )


def _twin_bars(shared_data: Path, relative: Path, windows: tuple = ()) -> pd.DataFrame:
    rows = read_rows(shared_data, relative)
    rows = passed_rows(rows, windows) if windows else rows
    bars = online.resample_bars(rows, "1h")
    return pd.concat([bars, online.bar_features(bars)], axis=1)


@pytest.mark.parametrize(
    ("symbol", "relative", "windows"),
    [
        ("UNITTEST/BTC", UNITTEST_5M, ()),
        ("XRP/USDT:USDT", XRP_PERP_5M, XRP_PERP_WINDOWS),  # the failed window leaves a two-day hole
        ("XRP/ETH", XRP_ETH_5M, ()),  # missing 5m bars leave some hours incomplete
    ],
)
def test_bar_features_equal_the_pandas_twin(
    built_features: BuiltFeatures, shared_data: Path, symbol: str, relative: Path, windows: tuple
) -> None:
    ours = _features(built_features, symbol)
    twin = _twin_bars(shared_data, relative, windows)
    assert (ours["ts"].to_numpy() == twin["ts"].to_numpy()).all()
    assert_close(ours, twin, BAR_COLUMNS)
    assert ours["rsi_14"].notna().sum() == len(ours) - 14  # the warm-up is the only gap


def test_funding_features_equal_the_pandas_twin(built_features: BuiltFeatures, shared_data: Path) -> None:
    raw = read_rows(shared_data, XRP_FUNDING).rename(columns={"ts": "settled_at"})
    twin = online.funding_features(raw)
    with built_features.admin.connect() as connection:
        ours = pd.read_sql(text("SELECT * FROM intermediate.int_funding_settlements ORDER BY settled_at"), connection)
    assert ours["funding_rate_zscore_30"].notna().sum() > 0
    assert_close(ours, twin, ("settled_at", *online.FUNDING_FEATURES))

    bars = _features(built_features, "XRP/USDT:USDT")
    as_of = online.funding_as_of(bars, twin)
    assert bars["funding_rate"].notna().sum() > 0
    assert_close(
        bars.rename(columns={"funding_settled_at": "settled_at"}), as_of, ("settled_at", *online.FUNDING_FEATURES)
    )


def test_order_flow_equals_the_pandas_twin(built_features: BuiltFeatures, shared_data: Path) -> None:
    twin = online.order_flow(read_rows(shared_data, XRP_ETH_TRADES), "1h").reset_index()
    with built_features.admin.connect() as connection:
        ours = pd.read_sql(text("SELECT * FROM intermediate.int_order_flow ORDER BY ts"), connection)
    assert_close(ours, twin, ("ts", *online.ORDER_FLOW_FEATURES))

    bars = _features(built_features, "XRP/ETH")
    joined = bars[["ts"]].merge(twin, on="ts", how="left")
    assert_close(bars, joined, online.ORDER_FLOW_FEATURES)


def test_book_features_equal_the_pandas_twin(built_features: BuiltFeatures, shared_data: Path) -> None:
    snapshots = read_rows(shared_data, BOOK, symbol="BTC/USDT:USDT").sort_values(["ts", "sequence"])
    last = snapshots.iloc[-1]
    twin = pd.DataFrame(
        [online.book_features(last["bid_prices"], last["bid_amounts"], last["ask_prices"], last["ask_amounts"])]
    )
    with built_features.admin.connect() as connection:
        ours = pd.read_sql(text("SELECT * FROM intermediate.int_book_features"), connection)
    assert ours["snapshot_ts"].iloc[0] == last["ts"]
    assert_close(ours, twin, online.BOOK_FEATURES)


@pytest.mark.parametrize("horizon", [1, 4, 24])
def test_labels_equal_forward_log_returns_in_pandas(built_features: BuiltFeatures, horizon: int) -> None:
    ours = _features(built_features, "XRP/USDT:USDT", table="features.training_set")
    bars = ours.set_index("ts")[["close"]]
    labels = online.forward_labels(bars, "1h", (horizon,)).reset_index(drop=True)
    twin = labels.rename(columns={f"{name}_{horizon}": name for name in ("fwd_return", "fwd_sign", "label_end")})
    renamed = ours.rename(columns={f"{name}_{horizon}": name for name in ("fwd_return", "fwd_sign", "label_end")})
    assert twin["fwd_return"].isna().sum() > horizon  # the end and the failed window's hole have no label
    assert_close(renamed, twin, ("fwd_return", "fwd_sign"))
    known = twin["label_end"].notna().to_numpy()
    assert (renamed["label_end"].to_numpy()[known] == twin["label_end"].to_numpy()[known]).all()
