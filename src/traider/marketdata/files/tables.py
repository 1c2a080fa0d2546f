"""Turn raw tables (from JSON, CSV, feather or parquet) of candles, trades and quotes into canonical rows.

Each normaliser finds its columns by the names the common formats use (freqtrade, jesse, Binance,
tardis, nautilus), coerces them with `RowChecks` and returns the good rows plus rejections.
A missing required column is a `FileFormatError` naming it; extra columns are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traider.marketdata.files.base import FileFormatError, Identity, Part
from traider.marketdata.files.rows import RowChecks, Unit
from traider.marketdata.records import Stream

if TYPE_CHECKING:
    import pandas as pd

TIME_NAMES = ("ts", "timestamp", "timestamp_ms", "date", "time", "datetime", "open_time")
TRADE_ID_NAMES = ("trade_id", "id", "tid")
AMOUNT_NAMES = ("amount", "quantity", "qty", "size", "volume")
SIDES = {"buy": "buy", "sell": "sell", "b": "buy", "s": "sell"}
UNKNOWN_SIDES = ("unknown", "none", "")
MAKER_FLAGS = {"true": "sell", "false": "buy", "1": "sell", "0": "buy"}


def column(raw: pd.DataFrame, names: Iterable[str], role: str, path: Path, *, required: bool = True) -> str | None:
    """Return the first of `names` that `raw` has (case-insensitive), or raise a one-line error naming `role`."""
    lower = {str(name).strip().lower(): name for name in raw.columns}
    for name in names:
        if name in lower:
            return str(lower[name])
    if required:
        found = ", ".join(str(name) for name in raw.columns) or "none"
        raise FileFormatError(f"{path.name} lacks the {role} column (one of {', '.join(names)}; found {found})")
    return None


def has_columns(raw: pd.DataFrame, *names: str) -> bool:
    """Return whether `raw` has every one of `names` (case-insensitive)."""
    lower = {str(name).strip().lower() for name in raw.columns}
    return all(name in lower for name in names)


def identity_columns(checks: RowChecks, raw: pd.DataFrame, identity: Identity, path: Path) -> dict[str, Any]:
    """Return venue and symbol per row: from the file's own columns where it has them, else from `identity`."""
    out: dict[str, Any] = {}
    for name, names in (("venue", ("venue", "exchange")), ("symbol", ("symbol", "pair", "instrument"))):
        own = column(raw, names, name, path, required=False)
        if own is not None:
            out[name] = checks.text(raw[own], name)
        else:
            out[name] = identity.require(name, path)
    return out


def ohlcv(raw: pd.DataFrame, identity: Identity, path: Path, source: str, *, unit: Unit | None = None) -> Part:
    """Normalise a candle table (time, open, high, low, close, volume) to OHLCV rows."""
    checks = RowChecks(raw, stream=Stream.OHLCV, source=source)
    raw = checks.raw
    ts = column(raw, TIME_NAMES, "time", path)
    columns = identity_columns(checks, raw, identity, path)
    columns["timeframe"] = identity.require("timeframe", path)
    columns["ts"] = checks.timestamp(raw[ts], "timestamp", unit)
    for name in ("open", "high", "low", "close"):
        columns[name] = checks.number(raw[column(raw, (name,), name, path)], name, bound="positive")
    volume = column(raw, ("volume",), "volume", path)
    columns["volume"] = checks.number(raw[volume], "volume", bound="nonnegative")
    return checks.split(columns)


def trades(raw: pd.DataFrame, identity: Identity, path: Path, source: str, *, unit: Unit | None = None) -> Part:
    """Normalise a trade table (time, id, side or buyer-maker flag, price, amount) to trade rows."""
    checks = RowChecks(raw, stream=Stream.TRADES, source=source)
    raw = checks.raw
    columns = identity_columns(checks, raw, identity, path)
    columns["ts"] = checks.timestamp(raw[column(raw, TIME_NAMES, "time", path)], "timestamp", unit)
    columns["price"] = checks.number(raw[column(raw, ("price",), "price", path)], "price", bound="positive")
    amount = column(raw, AMOUNT_NAMES, "amount", path)
    columns["amount"] = checks.number(raw[amount], "amount", bound="positive")
    trade_id = column(raw, TRADE_ID_NAMES, "trade id", path, required=False)
    columns["trade_id"] = checks.text(raw[trade_id], "trade_id") if trade_id else synthetic_trade_ids(columns["ts"])
    side = column(raw, ("side",), "side", path, required=False)
    maker = column(raw, ("buyer_maker", "is_buyer_maker", "m"), "buyer-maker flag", path, required=False)
    if side is not None:
        known = raw[side].where(~raw[side].astype("string").str.strip().str.lower().isin(UNKNOWN_SIDES))
        columns["side"] = checks.choice(known, "side", SIDES, required=False)
    elif maker is not None:
        columns["side"] = checks.choice(raw[maker].astype("string"), "buyer_maker", MAKER_FLAGS)
    else:
        columns["side"] = None
    return checks.split(columns)


def synthetic_trade_ids(ts: pd.Series) -> pd.Series:
    """Return ids for trades a venue did not number: epoch microseconds and the ordinal within that time."""
    import pandas as pd

    micros = pd.Series(ts.to_numpy(dtype="datetime64[us]").astype("int64"), index=ts.index).astype(str)
    ordinal = ts.groupby(ts, sort=False, dropna=False).cumcount().astype(str)
    return micros + "-" + ordinal


def quotes(
    raw: pd.DataFrame, identity: Identity, path: Path, source: str, *, unit: Unit | None = None, first_row: int = 0
) -> Part:
    """Normalise best bid/ask quotes to book snapshots of one level per side (sequence: row number)."""
    checks = RowChecks(raw, stream=Stream.BOOK_SNAPSHOTS, source=source)
    raw = checks.raw
    columns = identity_columns(checks, raw, identity, path)
    columns["ts"] = checks.timestamp(raw[column(raw, TIME_NAMES, "time", path)], "timestamp", unit)
    columns["sequence"] = raw.index.to_numpy() + first_row
    sides: dict[str, Any] = {}
    for side in ("bid", "ask"):
        price = column(raw, (f"{side}_price", side), f"{side} price", path)
        amount = column(raw, (f"{side}_amount", f"{side}_size", f"{side}_qty"), f"{side} amount", path)
        sides[f"{side}_prices"] = checks.number(raw[price], f"{side} price", bound="positive")
        sides[f"{side}_amounts"] = checks.number(raw[amount], f"{side} amount", bound="nonnegative")
    for name, values in sides.items():
        columns[name] = [[value] for value in values.tolist()]
    return checks.split(columns)


def rename_positional(raw: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """Return a header-less table with its leading columns named (extra columns keep their positions)."""
    return raw.rename(columns={raw.columns[index]: name for index, name in names.items() if index < raw.shape[1]})
