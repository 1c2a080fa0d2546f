"""Rows of each stream over a window, day by day, as columns of numpy arrays (`ts` in Unix milliseconds).

Every row is a pure function of the config and its own time, never of the window asked for, so
overlapping requests agree on their overlap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from traider.marketdata.simulator.bars import FIELDS, BarAggregator, Bars, parse_timeframe
from traider.marketdata.simulator.book import ASK, BID, BookModel, touch
from traider.marketdata.simulator.config import SimulatorRequestError
from traider.marketdata.simulator.funding import funding_rate
from traider.marketdata.simulator.market import SimulatedMarket
from traider.marketdata.simulator.prices import MINUTES
from traider.marketdata.simulator.regimes import SECONDS_PER_DAY
from traider.marketdata.simulator.symbols import Instrument

Columns = dict[str, NDArray[np.generic]]
_DELTA_CHUNK_SECONDS = 3_600
_BAR_GROUP_DAYS = 32


def _days(market: SimulatedMarket, first: int, last: int) -> Iterator[tuple[int, int, int]]:
    """Yield (day, lo, hi): the part [lo, hi) of the Unix seconds [first, last) in each day."""
    for day in range(market.day_of(first), market.day_of(last - 1) + 1):
        start = market.day_start(day)
        yield day, max(first, start), min(last, start + SECONDS_PER_DAY)


def _prices(values: NDArray[Any], instrument: Instrument) -> NDArray[np.float64]:
    return np.round(np.round(values / instrument.tick) * instrument.tick, instrument.decimals)


def ohlcv(market: SimulatedMarket, symbol: str, timeframe: str, start: int, end: int) -> Iterator[Columns]:
    """Yield the bars of `timeframe` opening in the Unix seconds [start, end), each aggregated in full."""
    frame = parse_timeframe(timeframe)
    instrument = market.instrument(symbol)
    first = max(int(frame.floor(np.array([start]))[0]), market.epoch)
    last = frame.next_open(int(frame.floor(np.array([end - 1]))[0]))
    aggregator = BarAggregator(frame)
    group = _BAR_GROUP_DAYS if frame.minute_aligned else 1

    def keep(bars: Bars) -> Columns:
        inside = (bars["ts"] >= start) & (bars["ts"] < end)
        columns: Columns = {"ts": bars["ts"][inside] * 1000, "volume": bars["volume"][inside]}
        for name in ("open", "high", "low", "close"):
            columns[name] = _prices(np.exp(np.asarray(bars[name][inside], dtype=np.float64)), instrument)
        return columns

    pending: list[Bars] = []
    for day, lo, hi in _days(market, first, last):
        pending.append(_sub_bars(market, symbol, day, lo, hi, minute_aligned=frame.minute_aligned))
        if len(pending) == group or hi == last:
            yield keep(aggregator.add({name: np.concatenate([part[name] for part in pending]) for name in FIELDS}))
            pending = []
    yield keep(aggregator.finish())


def _sub_bars(market: SimulatedMarket, symbol: str, day: int, lo: int, hi: int, *, minute_aligned: bool) -> Bars:
    """Return the minutes or seconds in the Unix seconds [lo, hi) as sub-bars of log prices."""
    day_start = market.day_start(day)
    if minute_aligned:
        path, activity = market.minute_path(symbol, day), market.activity(symbol, day)
        part = slice((lo - day_start) // 60, (hi - day_start + 59) // 60)
        seconds = day_start + 60 * np.arange(MINUTES)[part]
        prices = (path.open[part], path.high[part], path.low[part], path.close[part])
        return dict(zip(FIELDS, (seconds, *prices, activity.volumes[part]), strict=True))
    trades = market.trades(symbol, day)
    traded = np.bincount(trades.milliseconds // 1000 - day_start, trades.amounts, SECONDS_PER_DAY)
    part = slice(lo - day_start, hi - day_start)
    log_price = market.second_path(symbol, day)[part]
    seconds = day_start + np.arange(SECONDS_PER_DAY)[part]
    return dict(zip(FIELDS, (seconds, log_price, log_price, log_price, log_price, traded[part]), strict=True))


def trades(market: SimulatedMarket, symbol: str, start_ms: int, end_ms: int) -> Iterator[Columns]:
    """Yield the trades in the Unix milliseconds [start_ms, end_ms)."""
    first, last = start_ms // 1000, -(-end_ms // 1000)
    for day, _, _ in _days(market, first, last):
        day_trades = market.trades(symbol, day)
        inside = (day_trades.milliseconds >= start_ms) & (day_trades.milliseconds < end_ms)
        yield {
            "ts": day_trades.milliseconds[inside],
            "trade_id": day_trades.ids[inside].astype(str),
            "price": day_trades.prices[inside],
            "amount": day_trades.amounts[inside],
            "side": np.where(day_trades.buys[inside], "buy", "sell"),
        }


def book_snapshots(market: SimulatedMarket, symbol: str, start: int, end: int) -> Iterator[Columns]:
    """Yield the book at each multiple of `snapshot_seconds` in the Unix seconds [start, end)."""
    instrument = market.instrument(symbol)
    model = BookModel(instrument, market.config)
    interval = market.config.snapshot_seconds
    for day, lo, hi in _days(market, start, end):
        seconds = np.arange(-(-lo // interval) * interval, hi, interval)
        log_mid = market.second_path(symbol, day)[seconds - market.day_start(day)]
        columns: Columns = {"ts": seconds * 1000, "sequence": seconds}
        for side, best, name in zip(
            (BID, ASK), touch(log_mid, instrument.tick, market.config.spread_bps), ("bid", "ask"), strict=True
        ):
            ticks = model.levels(side, best)
            columns[f"{name}_prices"] = _prices(ticks * instrument.tick, instrument)
            columns[f"{name}_amounts"] = model.amounts(side, ticks, seconds[:, None])
        yield columns


def book_deltas(market: SimulatedMarket, symbol: str, start: int, end: int) -> Iterator[Columns]:
    """Yield the level changes at each Unix second in [start, end); sequence = the second."""
    instrument = market.instrument(symbol)
    model = BookModel(instrument, market.config)
    for day, lo, hi in _days(market, start, end):
        for chunk in range(lo, hi, _DELTA_CHUNK_SECONDS):
            seconds = np.arange(chunk, min(hi, chunk + _DELTA_CHUNK_SECONDS))
            log_mid, first_is_new = _mids_with_previous(market, symbol, day, seconds)
            sides, prices, amounts, stamps = [], [], [], []
            for side, best in zip((BID, ASK), touch(log_mid, instrument.tick, market.config.spread_bps), strict=True):
                second, ticks, removal = model.deltas(side, best, seconds, first_is_new)
                stamps.append(second)
                prices.append(ticks)
                amounts.append(np.where(removal == 1, 0.0, model.amounts(side, ticks, second)))
                sides.append(np.full(second.size, side))
            stamp, side_code, tick = np.concatenate(stamps), np.concatenate(sides), np.concatenate(prices)
            order = np.lexsort((tick, side_code, stamp))
            yield {
                "ts": stamp[order] * 1000,
                "sequence": stamp[order],
                "side": np.where(side_code[order] == BID, "bid", "ask"),
                "price": _prices(tick[order] * instrument.tick, instrument),
                "amount": np.concatenate(amounts)[order],
            }


def _mids_with_previous(
    market: SimulatedMarket, symbol: str, day: int, seconds: NDArray[np.int64]
) -> tuple[NDArray[np.float64], bool]:
    """Return the log mid at the second before `seconds` and at each of them; True when that is the epoch."""
    offset = seconds - market.day_start(day)
    path = market.second_path(symbol, day)
    if offset[0] > 0:
        return path[offset[0] - 1 : offset[-1] + 1], False
    if day == 0:
        return np.concatenate([path[:1], path[: offset[-1] + 1]]), True
    previous = market.second_path(symbol, day - 1)[SECONDS_PER_DAY - 1]
    return np.concatenate([[previous], path[: offset[-1] + 1]]), False


def funding_rates(market: SimulatedMarket, symbol: str, start: int, end: int) -> Iterator[Columns]:
    """Yield the funding settlements in the Unix seconds [start, end) with mark and index prices."""
    instrument = market.instrument(symbol)
    if not instrument.is_perpetual:
        raise SimulatorRequestError(f"{symbol} is a spot pair; funding rates exist for perpetuals like BTC/USD:USD")
    interval = market.config.funding_interval_hours * 3600
    first = max(-(-start // interval) * interval, market.epoch + interval)
    if first >= end:
        return
    for day, lo, hi in _days(market, first, end):
        settlements = np.arange(-(-lo // interval) * interval, hi, interval)
        if settlements.size == 0:
            continue
        premium = np.array([_mean_basis(market, symbol, int(ts) - interval, int(ts)) for ts in settlements])
        recent = np.array([_mean_basis(market, symbol, int(ts) - 300, int(ts)) for ts in settlements])
        index = np.exp(
            market.minute_path(instrument.spot_symbol, day).open[(settlements - market.day_start(day)) // 60]
        )
        yield {
            "ts": settlements * 1000,
            "rate": funding_rate(premium, market.config),
            "mark_price": index * (1.0 + recent),
            "index_price": index,
        }


def _mean_basis(market: SimulatedMarket, symbol: str, first: int, last: int) -> float:
    """Return the mean of the per-minute basis over the Unix seconds [first, last) (whole minutes)."""
    values = []
    for day, lo, hi in _days(market, first, last):
        start = market.day_start(day)
        values.append(market.basis(symbol, day)[(lo - start) // 60 : (hi - start) // 60])
    return float(np.concatenate(values).mean())
