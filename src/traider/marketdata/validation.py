"""Row-level rules every market-data batch passes before it is stored.

One implementation of "what is an impossible row", applied by every loader (files, ccxt, the
simulator) before the bulk writer: rows that break a rule are split off as `Rejection`s with the
reason, so the valid rows of a batch still load and nothing is dropped silently. The database's
CHECK constraints enforce the same rules again; these run first so that one bad row does not cost
the whole batch. Statistical checks across batches (gaps, divergence, stale funding) belong to the
quality suites, not here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traider.errors import TraiderError
from traider.marketdata.records import COLUMNS, NATURAL_KEYS, Rejection, Stream

if TYPE_CHECKING:
    import pandas as pd

GENESIS = "2009-01-03T00:00:00Z"
TIMEFRAME_PATTERN = r"^[0-9]+[smhdwM]$"
SPIKE_FACTOR = 10.0
SPIKE_WINDOW = 20

PRICE_COLUMNS: Mapping[Stream, tuple[str, ...]] = {
    Stream.OHLCV: ("open", "high", "low", "close"),
    Stream.TRADES: ("price",),
    Stream.BOOK_DELTAS: ("price",),
    Stream.BOOK_SNAPSHOTS: (),
    Stream.FUNDING_RATES: (),
}
SERIES_KEYS: Mapping[Stream, tuple[str, ...]] = {
    Stream.OHLCV: ("venue", "symbol", "timeframe"),
    Stream.TRADES: ("venue", "symbol"),
    Stream.BOOK_DELTAS: ("venue", "symbol"),
    Stream.BOOK_SNAPSHOTS: ("venue", "symbol"),
    Stream.FUNDING_RATES: ("venue", "symbol"),
}
NUMERIC_COLUMNS: Mapping[Stream, tuple[str, ...]] = {
    Stream.OHLCV: ("open", "high", "low", "close", "volume"),
    Stream.TRADES: ("price", "amount"),
    Stream.BOOK_DELTAS: ("price", "amount", "sequence"),
    Stream.BOOK_SNAPSHOTS: ("sequence",),
    Stream.FUNDING_RATES: ("rate", "mark_price", "index_price"),
}
OPTIONAL_COLUMNS: Mapping[Stream, tuple[str, ...]] = {
    Stream.TRADES: ("side",),
    Stream.FUNDING_RATES: ("mark_price", "index_price"),
}


class BatchShapeError(TraiderError):
    """A batch lacks a column its stream needs: the whole batch is refused."""

    exit_code = 2


@dataclass(frozen=True)
class Validated:
    """The rows of a batch that passed every rule, and the ones that did not, with reasons."""

    valid: pd.DataFrame
    rejections: tuple[Rejection, ...]


def validate(stream: Stream, frame: pd.DataFrame, *, source: str, spike_factor: float = SPIKE_FACTOR) -> Validated:
    """Split `frame` into valid rows (canonical columns, typed, in time order) and rejections."""
    import pandas as pd

    columns = list(COLUMNS[stream])
    missing = [
        column for column in columns if column not in frame.columns and column not in OPTIONAL_COLUMNS.get(stream, ())
    ]
    if missing:
        raise BatchShapeError(
            f"a {stream.value} batch from {source} lacks column(s) {', '.join(missing)}; rows need {', '.join(columns)}"
        )
    raw = frame.reset_index(drop=True)
    typed = raw.reindex(columns=columns).copy()
    reasons = pd.Series("", index=typed.index, dtype=object)
    flagged = pd.Series(False, index=typed.index)

    def flag(mask: pd.Series, reason: str) -> None:
        fresh = mask.fillna(False).astype(bool) & ~flagged
        if fresh.any():
            reasons[fresh] = reason
            flagged[fresh] = True

    _check_identity(typed, flag)
    typed["ts"] = pd.to_datetime(typed["ts"], utc=True, errors="coerce")
    flag(typed["ts"].isna(), "timestamp missing or not a time")
    flag(typed["ts"] < pd.Timestamp(GENESIS), "timestamp before 2009-01-03 (seconds mistaken for milliseconds?)")
    for column in NUMERIC_COLUMNS[stream]:
        _coerce_numeric(typed, column, flag, optional=column in OPTIONAL_COLUMNS.get(stream, ()))
    _STREAM_RULES[stream](typed, flag)
    _check_spikes(stream, typed, flagged, flag, spike_factor)
    _check_duplicates(stream, typed, flag)

    bad = flagged
    rejections = tuple(
        Rejection(source=source, stream=stream, record=_jsonable(raw.loc[index].to_dict()), reason=str(reasons[index]))
        for index in typed.index[bad]
    )
    valid = typed[~bad].sort_values("ts", kind="stable").reset_index(drop=True)
    if stream is Stream.BOOK_DELTAS or stream is Stream.BOOK_SNAPSHOTS:
        valid["sequence"] = valid["sequence"].astype("int64")
    for column in OPTIONAL_COLUMNS.get(stream, ()):
        if column in NUMERIC_COLUMNS.get(stream, ()) and column in valid.columns:
            # an absent optional number is NULL, not NaN (the tables reject NaN by their CHECK constraints)
            valid[column] = valid[column].astype(object).where(valid[column].notna(), None)
    return Validated(valid=valid, rejections=rejections)


Flag = Any  # Callable[[pd.Series, str], None]; kept loose so the rule tables stay readable


def _check_identity(typed: pd.DataFrame, flag: Flag) -> None:
    for column in ("venue", "symbol"):
        values = typed[column]
        flag(values.isna() | (values.astype(str).str.strip() == ""), f"{column} missing")
    if "timeframe" in typed.columns:
        flag(~typed["timeframe"].astype(str).str.fullmatch(TIMEFRAME_PATTERN), "timeframe not like 1m, 5m, 1h, 1d")


def _coerce_numeric(typed: pd.DataFrame, column: str, flag: Flag, *, optional: bool) -> None:
    import pandas as pd

    original = typed[column]
    numbers = pd.to_numeric(original, errors="coerce").astype("float64")
    flag(numbers.isna() & original.notna(), f"{column} is not a number")
    if not optional:
        flag(original.isna(), f"{column} missing")
    typed[column] = numbers


def _positive_finite(values: pd.Series) -> pd.Series:
    return (values > 0) & (values < math.inf)


def _ohlcv_rules(typed: pd.DataFrame, flag: Flag) -> None:
    for column in ("open", "high", "low", "close"):
        flag(~_positive_finite(typed[column]), f"{column} not a positive finite price")
    flag(typed["high"] < typed["low"], "high below low")
    within = typed["open"].between(typed["low"], typed["high"]) & typed["close"].between(typed["low"], typed["high"])
    flag(~within, "open or close outside [low, high]")
    flag(~((typed["volume"] >= 0) & (typed["volume"] < math.inf)), "volume negative or not finite")


def _trade_rules(typed: pd.DataFrame, flag: Flag) -> None:
    flag(~_positive_finite(typed["price"]), "price not a positive finite price")
    flag(~_positive_finite(typed["amount"]), "amount not positive and finite")
    flag(typed["trade_id"].isna() | (typed["trade_id"].astype(str) == ""), "trade_id missing")
    typed["trade_id"] = typed["trade_id"].astype(str)
    side = typed["side"]
    flag(side.notna() & ~side.isin(["buy", "sell"]), "side not buy or sell")


def _delta_rules(typed: pd.DataFrame, flag: Flag) -> None:
    flag(~_positive_finite(typed["price"]), "price not a positive finite price")
    flag(~((typed["amount"] >= 0) & (typed["amount"] < math.inf)), "amount negative or not finite")
    flag(~typed["side"].isin(["bid", "ask"]), "side not bid or ask")
    flag(typed["sequence"] % 1 != 0, "sequence not an integer")


def _funding_rules(typed: pd.DataFrame, flag: Flag) -> None:
    flag(~((typed["rate"] > -1) & (typed["rate"] < 1)), "funding rate not within (-1, 1)")
    for column in ("mark_price", "index_price"):
        flag(typed[column].notna() & ~_positive_finite(typed[column]), f"{column} not a positive finite price")


def _snapshot_rules(typed: pd.DataFrame, flag: Flag) -> None:
    import pandas as pd

    problems = [
        _snapshot_problem(row)
        for row in typed[["bid_prices", "bid_amounts", "ask_prices", "ask_amounts"]].itertuples(index=False)
    ]
    problem_series = pd.Series(problems, index=typed.index, dtype=object)
    for reason in sorted({problem for problem in problems if problem}):
        flag(problem_series == reason, reason)
    flag(typed["sequence"] % 1 != 0, "sequence not an integer")


def _snapshot_problem(row: Sequence[Any]) -> str:
    try:
        bid_prices, bid_amounts, ask_prices, ask_amounts = (list(map(float, side)) for side in row)
    except (TypeError, ValueError):
        return "book levels are not lists of numbers"
    if len(bid_prices) != len(bid_amounts) or len(ask_prices) != len(ask_amounts):
        return "book levels: prices and amounts differ in length"
    if not all(0 < price < math.inf for price in bid_prices + ask_prices):
        return "book level price not positive and finite"
    if not all(0 <= amount < math.inf for amount in bid_amounts + ask_amounts):
        return "book level amount negative or not finite"
    if bid_prices and ask_prices and max(bid_prices) >= min(ask_prices):
        return "crossed or locked book (best bid >= best ask)"
    return ""


_STREAM_RULES: Mapping[Stream, Any] = {
    Stream.OHLCV: _ohlcv_rules,
    Stream.TRADES: _trade_rules,
    Stream.BOOK_DELTAS: _delta_rules,
    Stream.BOOK_SNAPSHOTS: _snapshot_rules,
    Stream.FUNDING_RATES: _funding_rules,
}


def _check_spikes(stream: Stream, typed: pd.DataFrame, flagged: pd.Series, flag: Flag, factor: float) -> None:
    """Flag prices `factor`x away from the median of the preceding valid prices of their series."""
    price_columns = PRICE_COLUMNS[stream]
    if not price_columns or typed.empty:
        return
    price = typed[price_columns[-1]].where(~flagged)
    order = typed.sort_values("ts", kind="stable").index
    keys = [typed.loc[order, key].astype(str) for key in SERIES_KEYS[stream]]
    ordered = price.loc[order]
    reference = ordered.groupby(keys).transform(
        lambda series: series.shift(1).rolling(SPIKE_WINDOW, min_periods=3).median()
    )
    ratio = (ordered / reference).reindex(typed.index)
    reason = f"price jump of {factor:g}x or more from the median of the preceding prices"
    flag((ratio >= factor) | (ratio <= 1 / factor), reason)


def _check_duplicates(stream: Stream, typed: pd.DataFrame, flag: Flag) -> None:
    keys = list(NATURAL_KEYS[stream])
    duplicated = typed.duplicated(subset=keys, keep="first")
    flag(duplicated, f"duplicate of an earlier row with the same {', '.join(keys)}")


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return a raw record with values JSON can hold (timestamps as ISO text, NaN and inf as text)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[str(key)] = str(value)
        elif hasattr(value, "isoformat"):
            out[str(key)] = value.isoformat()
        elif hasattr(value, "tolist"):
            out[str(key)] = value.tolist()
        elif value is None or isinstance(value, str | int | float | bool | list | dict):
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
    return out
