"""Row coercion: epoch units, mixed timestamp text, JSON-safe rejected records."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.marketdata.files.support import utc
from traider.marketdata.files.rows import RowChecks, epoch_unit, jsonable
from traider.marketdata.records import Stream


@pytest.mark.parametrize(
    ("value", "unit"), [(1_582_329_602, "s"), (1_582_329_602_111, "ms"), (1.582e15, "us"), (1.582e18, "ns")]
)
def test_epoch_unit_magnitude_gives_the_unit(value: float, unit: str) -> None:
    assert epoch_unit(value) == unit


@pytest.mark.parametrize(
    "values",
    [
        [1_582_329_602, 1_582_329_603],
        [1_582_329_602_000, 1_582_329_603_000],
        [1_582_329_602_000_000, 1_582_329_603_000_000],
        [1_582_329_602_000_000_000, 1_582_329_603_000_000_000],
        ["2020-02-22T00:00:02Z", "2020-02-22 00:00:03+00:00"],
        ["1582329602000", "2020-02-22T00:00:03Z"],
    ],
)
def test_row_checks_timestamp_every_epoch_unit_and_iso_text_give_the_same_instants(values: list[object]) -> None:
    raw = pd.DataFrame({"ts": values})
    checks = RowChecks(raw, stream=Stream.TRADES, source="test")
    times = checks.timestamp(raw["ts"], "timestamp")
    assert times.tolist() == [utc("2020-02-22 00:00:02"), utc("2020-02-22 00:00:03")]
    assert (checks.reasons == "").all()


def test_row_checks_timestamp_far_future_is_flagged_as_wrong_unit() -> None:
    raw = pd.DataFrame({"ts": ["2020-02-22T00:00:02Z", "3020-01-01T00:00:00Z"]})
    checks = RowChecks(raw, stream=Stream.TRADES, source="test")
    checks.timestamp(raw["ts"], "timestamp")
    assert checks.reasons.tolist() == ["", "timestamp after 2100 (wrong epoch unit?)"]


def test_row_checks_first_reason_wins_and_split_keeps_raw_records() -> None:
    raw = pd.DataFrame({"price": ["1.5", "-2", "x", None], "amount": [1.0, -1.0, 1.0, 1.0]})
    checks = RowChecks(raw, stream=Stream.TRADES, source="test")
    price = checks.number(raw["price"], "price", bound="positive")
    amount = checks.number(raw["amount"], "amount", bound="positive")
    assert checks.reasons.tolist() == ["", "price not positive", "price is not a number", "price missing"]
    columns = {"venue": "v", "symbol": "s", "trade_id": "1", "ts": utc("2020-01-01"), "side": None}
    frame, rejections = checks.split({**columns, "price": price, "amount": amount})
    assert len(frame) == 1 and frame.iloc[0]["price"] == 1.5
    assert [dict(rejection.record) for rejection in rejections] == [
        {"price": "-2", "amount": -1.0},
        {"price": "x", "amount": 1.0},
        {"price": None, "amount": 1.0},
    ]


def test_jsonable_makes_numpy_nan_and_timestamps_json_safe() -> None:
    record = {"a": np.float64(math.nan), "b": np.int64(3), "c": pd.Timestamp("2020-01-01", tz="UTC"), "d": math.inf,
              "e": {"f": [np.float32(1.5), pd.NaT]}, "g": b"\x01"}  # fmt: skip
    plain = jsonable(record)
    assert plain == {
        "a": None,
        "b": 3,
        "c": "2020-01-01T00:00:00+00:00",
        "d": "inf",
        "e": {"f": [1.5, None]},
        "g": "01",
    }
    json.dumps(plain, allow_nan=False)
