"""The dashboard's reads: small functions from an Engine to a pandas DataFrame or a dict.

Everything that grows with trading — fills, orders, P&L snapshots, quality results, quarantine — is aggregated,
downsampled or paginated in SQL, so what reaches Python is at most a few hundred rows whatever the table sizes:

- curves are bucketed with `date_bin` to about `points` buckets (the last value of each bucket);
- "latest per key" reads walk the primary-key index (a recursive "loose index scan" over the distinct keys, then
  one `ORDER BY ... DESC LIMIT 1` per key) instead of sorting the table;
- fills and orders lists are keyset-paginated (`id < :before ORDER BY id DESC LIMIT :limit`), and fill activity
  is restricted to a time window, which the BRIN index on `filled_at` serves.

Timestamps are timezone-aware (UTC); money and quantities come back as float. `now` parameters default to the
database's clock, and exist so tests can pin it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Origin of every time bucket, so buckets line up between queries."""
DEFAULT_POINTS = 500
LIVE_MODES = ("paper", "live")
OPEN_STATUSES = ("new", "open", "partially_filled")
_STEPS_S = (1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Instrument:
    """One (venue, symbol) pair."""

    venue: str
    symbol: str

    @property
    def label(self) -> str:
        """Return `venue:symbol`."""
        return f"{self.venue}:{self.symbol}"


def bucket_step(span: timedelta, points: int = DEFAULT_POINTS) -> timedelta:
    """Return a round bucket width giving at most about `points` buckets over `span` (1 s up to whole days)."""
    wanted = max(span.total_seconds(), 1.0) / max(points, 1)
    for step in _STEPS_S:
        if step >= wanted:
            return timedelta(seconds=step)
    return timedelta(days=-(-wanted // 86400))


def _frame(engine: Engine, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(text(sql), params or {})
        columns = list(result.keys())
        rows = [tuple(row) for row in result]
    return pd.DataFrame.from_records(rows, columns=columns)


def _now(engine: Engine, now: datetime | None) -> datetime:
    if now is not None:
        return now
    with engine.connect() as connection:
        moment: datetime = connection.execute(text("SELECT now()")).scalar_one()
    return moment


# --- P&L -------------------------------------------------------------------------------------------------------

_SERIES_KEYS = """
WITH RECURSIVE series AS (
    (SELECT mode, strategy FROM trading.pnl_snapshots ORDER BY mode, strategy LIMIT 1)
    UNION ALL
    SELECT next.mode, next.strategy FROM series,
    LATERAL (SELECT p.mode, p.strategy FROM trading.pnl_snapshots p
             WHERE (p.mode, p.strategy) > (series.mode, series.strategy)
             ORDER BY p.mode, p.strategy LIMIT 1) AS next
)
"""

_PNL_SERIES = (
    _SERIES_KEYS
    + """
SELECT s.mode, s.strategy, first.ts AS first_ts, last.ts AS last_ts,
       last.equity::float8 AS equity,
       (last.realised_pnl + last.unrealised_pnl)::float8 AS total_pnl,
       (last.equity - coalesce(day_start.equity, first.equity - first.realised_pnl - first.unrealised_pnl))::float8
           AS pnl_today,
       coalesce(day_start.equity, first.equity - first.realised_pnl - first.unrealised_pnl)::float8
           AS day_start_equity,
       last.fees_paid::float8 AS fees_paid,
       last.funding_pnl::float8 AS funding_pnl
FROM series s
CROSS JOIN LATERAL (SELECT ts, equity, realised_pnl, unrealised_pnl FROM trading.pnl_snapshots p
                    WHERE p.mode = s.mode AND p.strategy = s.strategy ORDER BY p.ts LIMIT 1) AS first
CROSS JOIN LATERAL (SELECT ts, equity, realised_pnl, unrealised_pnl, fees_paid, funding_pnl
                    FROM trading.pnl_snapshots p
                    WHERE p.mode = s.mode AND p.strategy = s.strategy ORDER BY p.ts DESC LIMIT 1) AS last
LEFT JOIN LATERAL (SELECT equity FROM trading.pnl_snapshots p
                   WHERE p.mode = s.mode AND p.strategy = s.strategy AND p.ts < :day_start
                   ORDER BY p.ts DESC LIMIT 1) AS day_start ON true
WHERE s.mode = ANY(:modes)
ORDER BY s.mode, s.strategy
"""
)


def pnl_series(
    engine: Engine, modes: Sequence[str] = (*LIVE_MODES, "backtest"), *, now: datetime | None = None
) -> pd.DataFrame:
    """Return one row per (mode, strategy) with P&L snapshots: its span, latest equity, P&L total and today.

    P&L today is the latest equity less the last equity before today's UTC midnight (or, for a series that began
    today, the capital it began with); total P&L is the latest realised + unrealised P&L.
    """
    moment = _now(engine, now).astimezone(UTC)
    day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return _frame(engine, _PNL_SERIES, {"modes": list(modes), "day_start": day_start})


def pnl_totals(series: pd.DataFrame) -> dict[str, float]:
    """Sum the per-series P&L of `pnl_series` (already one row per series: a handful of rows)."""
    if series.empty:
        return {"equity": 0.0, "pnl_today": 0.0, "total_pnl": 0.0, "fees_paid": 0.0, "series": 0.0}
    return {
        "equity": float(series["equity"].sum()),
        "pnl_today": float(series["pnl_today"].sum()),
        "total_pnl": float(series["total_pnl"].sum()),
        "fees_paid": float(series["fees_paid"].sum()),
        "series": float(len(series)),
    }


def equity_curve(
    engine: Engine,
    *,
    modes: Sequence[str] = LIVE_MODES,
    strategies: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    points: int = DEFAULT_POINTS,
) -> pd.DataFrame:
    """Return the equity of each (mode, strategy), downsampled in SQL to about `points` buckets (last value).

    Without `since`/`until` the whole span of the series is used. Columns: bucket, mode, strategy, equity.
    """
    if since is None or until is None:
        spans = pnl_series(engine, modes)
        if strategies is not None:
            spans = spans[spans["strategy"].isin(list(strategies))]
        if spans.empty:
            return pd.DataFrame(columns=["bucket", "mode", "strategy", "equity"])
        since = since or spans["first_ts"].min().to_pydatetime()
        until = until or spans["last_ts"].max().to_pydatetime() + timedelta(microseconds=1)
    assert since is not None and until is not None
    step = bucket_step(until - since, points)
    strategy_filter = "AND strategy = ANY(:strategies)" if strategies is not None else ""
    return _frame(
        engine,
        f"""
        SELECT date_bin(:step, ts, :origin) AS bucket, mode, strategy,
               ((array_agg(equity ORDER BY ts DESC))[1])::float8 AS equity
        FROM trading.pnl_snapshots
        WHERE mode = ANY(:modes) AND ts >= :since AND ts < :until {strategy_filter}
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        """,
        {
            "step": step,
            "origin": ORIGIN,
            "modes": list(modes),
            "since": since,
            "until": until,
            "strategies": list(strategies or []),
        },
    )


def total_equity(curve: pd.DataFrame) -> pd.DataFrame:
    """Return the sum over series of an `equity_curve` (each carried forward to buckets it has no snapshot in)."""
    if curve.empty:
        return pd.DataFrame(columns=["bucket", "equity"])
    wide = curve.pivot_table(index="bucket", columns=["mode", "strategy"], values="equity", aggfunc="last")
    total = wide.sort_index().ffill().sum(axis=1, min_count=1)
    return pd.DataFrame({"bucket": total.index, "equity": total.to_numpy()})


def backtest_vs_live(
    engine: Engine,
    *,
    live_mode: str,
    live_strategy: str,
    backtest_strategy: str,
    since: datetime,
    until: datetime,
    points: int = DEFAULT_POINTS,
) -> pd.DataFrame:
    """Return the live and backtest equity of one period on the same buckets, and how far apart they are.

    Columns: bucket, live_equity, backtest_equity, live_return and backtest_return (each relative to its own first
    bucket in the period), deviation = live_return - backtest_return (None where either is missing).
    """
    step = bucket_step(until - since, points)
    return _frame(
        engine,
        """
        WITH live AS (
            SELECT date_bin(:step, ts, :origin) AS bucket, ((array_agg(equity ORDER BY ts DESC))[1])::float8 AS equity
            FROM trading.pnl_snapshots
            WHERE mode = :live_mode AND strategy = :live_strategy AND ts >= :since AND ts < :until
            GROUP BY 1
        ), backtest AS (
            SELECT date_bin(:step, ts, :origin) AS bucket, ((array_agg(equity ORDER BY ts DESC))[1])::float8 AS equity
            FROM trading.pnl_snapshots
            WHERE mode = 'backtest' AND strategy = :backtest_strategy AND ts >= :since AND ts < :until
            GROUP BY 1
        ), bases AS (
            SELECT (SELECT equity FROM live ORDER BY bucket LIMIT 1) AS live_base,
                   (SELECT equity FROM backtest ORDER BY bucket LIMIT 1) AS backtest_base
        ), joined AS (
            SELECT bucket, live.equity AS live_equity, backtest.equity AS backtest_equity,
                   live.equity / NULLIF(bases.live_base, 0) - 1 AS live_return,
                   backtest.equity / NULLIF(bases.backtest_base, 0) - 1 AS backtest_return
            FROM live FULL JOIN backtest USING (bucket) CROSS JOIN bases
        )
        SELECT bucket, live_equity, backtest_equity, live_return, backtest_return,
               live_return - backtest_return AS deviation
        FROM joined
        ORDER BY bucket
        """,
        {
            "step": step,
            "origin": ORIGIN,
            "live_mode": live_mode,
            "live_strategy": live_strategy,
            "backtest_strategy": backtest_strategy,
            "since": since,
            "until": until,
        },
    )


def deviation_summary(comparison: pd.DataFrame) -> dict[str, float | None]:
    """Summarise a `backtest_vs_live` frame: final returns, final and largest absolute deviation (fractions)."""
    both = comparison.dropna(subset=["deviation"])
    if both.empty:
        return {"live_return": None, "backtest_return": None, "final_deviation": None, "max_abs_deviation": None}
    last = both.iloc[-1]
    return {
        "live_return": float(last["live_return"]),
        "backtest_return": float(last["backtest_return"]),
        "final_deviation": float(last["deviation"]),
        "max_abs_deviation": float(both["deviation"].abs().max()),
    }


# --- positions and exposure ------------------------------------------------------------------------------------

_POSITIONS = """
SELECT mode, venue, symbol, quantity, average_entry_price, realised_pnl, updated_at,
       coalesce(bar_close, fill_price, average_entry_price) AS mark,
       CASE WHEN bar_close IS NOT NULL THEN 'last bar ' || bar_timeframe
            WHEN fill_price IS NOT NULL THEN 'last fill'
            WHEN average_entry_price IS NOT NULL THEN 'entry price' END AS mark_source,
       coalesce(bar_ts, fill_ts) AS mark_ts,
       quantity * coalesce(bar_close, fill_price, average_entry_price) AS notional
FROM (
    SELECT p.mode, p.venue, p.symbol, p.quantity::float8 AS quantity,
           p.average_entry_price::float8 AS average_entry_price, p.realised_pnl::float8 AS realised_pnl,
           p.updated_at, bar.close AS bar_close, bar.ts AS bar_ts, bar.timeframe AS bar_timeframe,
           CASE WHEN bar.close IS NULL THEN fill.price END AS fill_price,
           CASE WHEN bar.close IS NULL THEN fill.filled_at END AS fill_ts
    FROM trading.positions p
    LEFT JOIN LATERAL (
        -- the newest stored bar of the instrument: its watermark, then one primary-key lookup
        SELECT o.close, o.ts, o.timeframe
        FROM market.ingest_watermarks w
        JOIN market.ohlcv o ON o.venue = w.venue AND o.symbol = w.symbol AND o.timeframe = w.timeframe
                           AND o.ts = w.last_ts
        WHERE w.venue = p.venue AND w.symbol = p.symbol AND w.stream = 'ohlcv'
        ORDER BY w.last_ts DESC LIMIT 1
    ) AS bar ON true
    LEFT JOIN LATERAL (
        -- else the instrument's newest fill (walking the primary key backwards, newest first)
        SELECT f.price::float8 AS price, f.filled_at FROM trading.fills f
        WHERE bar.close IS NULL AND f.venue = p.venue AND f.symbol = p.symbol
        ORDER BY f.id DESC LIMIT 1
    ) AS fill ON true
    WHERE p.mode = ANY(:modes) AND p.quantity <> 0
) AS marked
ORDER BY abs(quantity * coalesce(bar_close, fill_price, average_entry_price, 0)) DESC, mode, venue, symbol
"""


def positions(engine: Engine, modes: Sequence[str] = LIVE_MODES) -> pd.DataFrame:
    """Return the open positions with a mark price (newest bar, else newest fill, else entry) and signed notional."""
    return _frame(engine, _POSITIONS, {"modes": list(modes)})


def exposure(engine: Engine, modes: Sequence[str] = LIVE_MODES) -> pd.DataFrame:
    """Return per mode the gross, net, long and short exposure and the number of open positions (in SQL)."""
    return _frame(
        engine,
        f"""
        SELECT mode, count(*) AS positions,
               coalesce(sum(abs(notional)), 0) AS gross, coalesce(sum(notional), 0) AS net,
               coalesce(sum(notional) FILTER (WHERE notional > 0), 0) AS long,
               coalesce(-sum(notional) FILTER (WHERE notional < 0), 0) AS short
        FROM ({_POSITIONS}) AS positions
        GROUP BY mode ORDER BY mode
        """,
        {"modes": list(modes)},
    )


def traded_instruments(engine: Engine, modes: Sequence[str] = LIVE_MODES) -> list[Instrument]:
    """Return the instruments with an open position or a worker trading them (small tables)."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT venue, symbol FROM trading.positions WHERE mode = ANY(:modes) AND quantity <> 0 "
                "UNION SELECT venue, symbol FROM trading.worker_state WHERE mode = ANY(:modes) ORDER BY 1, 2"
            ),
            {"modes": list(modes)},
        ).all()
    return [Instrument(row.venue, row.symbol) for row in rows]


# --- market data for risk ----------------------------------------------------------------------------------------

_TIMEFRAME_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400}


def timeframe_seconds(timeframe: str) -> int:
    """Return the length of a timeframe such as `5m` or `1d` in seconds."""
    return int(timeframe[:-1]) * _TIMEFRAME_SECONDS[timeframe[-1]]


def daily_closes(engine: Engine, instruments: Sequence[Instrument], *, days: int = 90) -> pd.DataFrame:
    """Return the last close of each UTC day over the last `days` days of each instrument's stored bars.

    Per instrument it reads the longest stored timeframe of at most a day (fewest rows), up to its watermark.
    Columns: venue, symbol, day, close.
    """
    chosen = _daily_timeframes(engine, instruments)
    if not chosen:
        return pd.DataFrame(columns=["venue", "symbol", "day", "close"])
    return _frame(
        engine,
        """
        SELECT i.venue, i.symbol, d.day, d.close
        FROM unnest(CAST(:venues AS text[]), CAST(:symbols AS text[]), CAST(:timeframes AS text[]),
                    CAST(:last AS timestamptz[])) AS i(venue, symbol, timeframe, last_ts)
        CROSS JOIN LATERAL (
            SELECT date_bin('1 day', o.ts, :origin) AS day, (array_agg(o.close ORDER BY o.ts DESC))[1] AS close
            FROM market.ohlcv o
            WHERE o.venue = i.venue AND o.symbol = i.symbol AND o.timeframe = i.timeframe
              AND o.ts > i.last_ts - :span AND o.ts <= i.last_ts
            GROUP BY 1
        ) AS d
        ORDER BY i.venue, i.symbol, d.day
        """,
        {
            "venues": [instrument.venue for instrument, _, _ in chosen],
            "symbols": [instrument.symbol for instrument, _, _ in chosen],
            "timeframes": [timeframe for _, timeframe, _ in chosen],
            "last": [last for _, _, last in chosen],
            "origin": ORIGIN,
            "span": timedelta(days=days),
        },
    )


def _daily_timeframes(engine: Engine, instruments: Sequence[Instrument]) -> list[tuple[Instrument, str, datetime]]:
    if not instruments:
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT venue, symbol, timeframe, last_ts FROM market.ingest_watermarks "
                "WHERE stream = 'ohlcv' AND (venue, symbol) IN (SELECT * FROM unnest(CAST(:venues AS text[]), "
                "CAST(:symbols AS text[])))"
            ),
            {"venues": [each.venue for each in instruments], "symbols": [each.symbol for each in instruments]},
        ).all()
    best: dict[Instrument, tuple[int, str, datetime]] = {}
    for row in rows:
        try:
            seconds = timeframe_seconds(row.timeframe)
        except (KeyError, ValueError):
            continue
        if seconds > 86400:
            continue
        key = Instrument(row.venue, row.symbol)
        if key not in best or seconds > best[key][0]:
            best[key] = (seconds, row.timeframe, row.last_ts)
    return [(key, timeframe, last) for key, (_, timeframe, last) in sorted(best.items(), key=lambda i: i[0].label)]


def market_data_age(engine: Engine, instruments: Sequence[Instrument], *, now: datetime | None = None) -> float | None:
    """Return the age in seconds of the stalest instrument's newest stored data (None when none is stored)."""
    if not instruments:
        return None
    with engine.connect() as connection:
        age = connection.execute(
            text(
                "SELECT max(age) FROM (SELECT extract(epoch FROM coalesce(CAST(:now AS timestamptz), now()) "
                "- max(last_ts))::float8 AS age FROM market.ingest_watermarks WHERE stream IN ('ohlcv', 'trades') "
                "AND (venue, symbol) IN (SELECT * FROM unnest(CAST(:venues AS text[]), CAST(:symbols AS text[]))) "
                "GROUP BY venue, symbol) AS ages"
            ),
            {
                "now": now,
                "venues": [each.venue for each in instruments],
                "symbols": [each.symbol for each in instruments],
            },
        ).scalar()
    return None if age is None else float(age)


# --- orders and fills --------------------------------------------------------------------------------------------


def orders_last_minute(engine: Engine, modes: Sequence[str] = LIVE_MODES, *, now: datetime | None = None) -> int:
    """Return how many orders were created in the last minute (looking at the newest thousand orders only)."""
    with engine.connect() as connection:
        count: int = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT created_at FROM trading.orders WHERE mode = ANY(:modes) "
                "ORDER BY id DESC LIMIT 1000) AS recent "
                "WHERE created_at > coalesce(CAST(:now AS timestamptz), now()) - interval '1 minute'"
            ),
            {"modes": list(modes), "now": now},
        ).scalar_one()
    return int(count)


def order_status_counts(engine: Engine, *, modes: Sequence[str] = LIVE_MODES, since: datetime) -> pd.DataFrame:
    """Return the number of orders created since `since` per status."""
    return _frame(
        engine,
        "SELECT status, count(*) AS orders FROM trading.orders WHERE mode = ANY(:modes) AND created_at >= :since "
        "GROUP BY status ORDER BY orders DESC, status",
        {"modes": list(modes), "since": since},
    )


_ORDER_COLUMNS = (
    "id, client_order_id, mode, venue, symbol, strategy, model_name, model_version, side, order_type, "
    "quantity::float8 AS quantity, filled_quantity::float8 AS filled_quantity, price::float8 AS price, status, "
    "created_at, updated_at"
)


def open_orders(engine: Engine, *, modes: Sequence[str] = LIVE_MODES, limit: int = 200) -> pd.DataFrame:
    """Return the newest `limit` open orders (new, open, partially filled), from their partial index."""
    return _frame(
        engine,
        f"SELECT {_ORDER_COLUMNS} FROM trading.orders WHERE status = ANY(:statuses) AND mode = ANY(:modes) "
        "ORDER BY id DESC LIMIT :limit",
        {"statuses": list(OPEN_STATUSES), "modes": list(modes), "limit": limit},
    )


def recent_orders(
    engine: Engine, *, modes: Sequence[str] = LIVE_MODES, limit: int = 50, before_id: int | None = None
) -> pd.DataFrame:
    """Return one page of orders, newest first: those with an id below `before_id` (the previous page's last)."""
    keyset = "AND id < :before" if before_id is not None else ""
    return _frame(
        engine,
        f"SELECT {_ORDER_COLUMNS} FROM trading.orders WHERE mode = ANY(:modes) {keyset} ORDER BY id DESC LIMIT :limit",
        {"modes": list(modes), "limit": limit, "before": before_id},
    )


def fills_page(
    engine: Engine,
    *,
    limit: int = 50,
    before_id: int | None = None,
    symbol: str | None = None,
    modes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return one page of fills, newest first (keyset pagination on the fill id), with their order's context."""
    conditions = ["true"]
    if before_id is not None:
        conditions.append("f.id < :before")
    if symbol:
        conditions.append("f.symbol = :symbol")
    if modes is not None:
        conditions.append("o.mode = ANY(:modes)")
    return _frame(
        engine,
        f"""
        SELECT f.id, f.filled_at, o.mode, f.venue, f.symbol, f.side, f.price::float8 AS price,
               f.quantity::float8 AS quantity, (f.price * f.quantity)::float8 AS notional, f.fee::float8 AS fee,
               f.fee_currency, f.liquidity, o.client_order_id, o.strategy, o.model_version, f.venue_fill_id
        FROM trading.fills f JOIN trading.orders o ON o.id = f.order_id
        WHERE {" AND ".join(conditions)}
        ORDER BY f.id DESC LIMIT :limit
        """,
        {"limit": limit, "before": before_id, "symbol": symbol, "modes": list(modes or [])},
    )


def fill_activity(engine: Engine, *, since: datetime, until: datetime, points: int = 200) -> pd.DataFrame:
    """Return fills per time bucket in [since, until): count, traded notional and fees (BRIN on filled_at)."""
    return _frame(
        engine,
        """
        SELECT date_bin(:step, filled_at, :origin) AS bucket, count(*) AS fills,
               sum(price * quantity)::float8 AS notional, sum(fee)::float8 AS fees
        FROM trading.fills WHERE filled_at >= :since AND filled_at < :until
        GROUP BY 1 ORDER BY 1
        """,
        {"step": bucket_step(until - since, points), "origin": ORIGIN, "since": since, "until": until},
    )


def fill_totals(engine: Engine, *, since: datetime, until: datetime) -> pd.DataFrame:
    """Return per venue and symbol the fills in [since, until): count, bought and sold quantity, notional, fees."""
    return _frame(
        engine,
        """
        SELECT venue, symbol, count(*) AS fills,
               coalesce(sum(quantity) FILTER (WHERE side = 'buy'), 0)::float8 AS bought,
               coalesce(sum(quantity) FILTER (WHERE side = 'sell'), 0)::float8 AS sold,
               sum(price * quantity)::float8 AS notional, sum(fee)::float8 AS fees,
               (sum(price * quantity) / NULLIF(sum(quantity), 0))::float8 AS average_price
        FROM trading.fills WHERE filled_at >= :since AND filled_at < :until
        GROUP BY venue, symbol ORDER BY notional DESC
        """,
        {"since": since, "until": until},
    )


def stored_fills(engine: Engine, *, exact_below: int = 100_000) -> int:
    """Return how many fills are stored: the planner's estimate (no scan), counted exactly when it is small."""
    with engine.connect() as connection:
        estimate = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST('trading.fills' AS regclass)")
        ).scalar()
        if estimate is not None and estimate >= exact_below:
            return int(estimate)
        count: int = connection.execute(
            text("SELECT count(*) FROM (SELECT 1 FROM trading.fills LIMIT :cap) AS capped"), {"cap": exact_below}
        ).scalar_one()
    return count


# --- kill switch, models ----------------------------------------------------------------------------------------


def kill_switch_history(engine: Engine, *, limit: int = 50) -> pd.DataFrame:
    """Return the newest `limit` uses of the kill switch: engaged or released, flatten, who, why, when."""
    return _frame(
        engine,
        "SELECT id, engaged, flatten, actor, reason, changed_at FROM ops.kill_switch ORDER BY id DESC LIMIT :limit",
        {"limit": limit},
    )


def model_decisions(engine: Engine, *, model_name: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Return the newest `limit` gate decisions and alias moves, with their reasons (one string per reason)."""
    where = "WHERE model_name = :name" if model_name else ""
    return _frame(
        engine,
        f"""
        SELECT id, decided_at, model_name, version, action, decision, alias, previous_version, reasons, actor,
               run_id, audit_seq, evidence
        FROM ops.model_decisions {where} ORDER BY id DESC LIMIT :limit
        """,
        {"name": model_name, "limit": limit},
    )


def model_names(engine: Engine) -> list[str]:
    """Return the names of the models with recorded decisions."""
    with engine.connect() as connection:
        return list(
            connection.execute(text("SELECT DISTINCT model_name FROM ops.model_decisions ORDER BY 1")).scalars()
        )


# --- data health ------------------------------------------------------------------------------------------------

_LATEST_QUALITY = """
WITH RECURSIVE tables AS (
    (SELECT table_name FROM ops.quality_results ORDER BY table_name LIMIT 1)
    UNION ALL
    SELECT next.table_name FROM tables,
    LATERAL (SELECT q.table_name FROM ops.quality_results q WHERE q.table_name > tables.table_name
             ORDER BY q.table_name LIMIT 1) AS next
), latest AS (
    SELECT t.table_name, l.run_id, l.suite
    FROM tables t
    CROSS JOIN LATERAL (SELECT run_id, suite FROM ops.quality_results q WHERE q.table_name = t.table_name
                        ORDER BY q.checked_at DESC LIMIT 1) AS l
)
"""


def quality_latest(engine: Engine) -> pd.DataFrame:
    """Return per checked table the outcome of its latest suite run: expectations passed and failed, which failed."""
    return _frame(
        engine,
        _LATEST_QUALITY
        + """
        SELECT l.table_name, l.suite, l.run_id, max(q.checked_at) AS checked_at,
               min(q.data_interval_start) AS data_interval_start, max(q.data_interval_end) AS data_interval_end,
               count(*) AS expectations, count(*) FILTER (WHERE q.success) AS passed,
               count(*) FILTER (WHERE NOT q.success) AS failed,
               coalesce(string_agg(q.expectation, ', ' ORDER BY q.expectation) FILTER (WHERE NOT q.success), '')
                   AS failed_expectations
        FROM latest l
        JOIN ops.quality_results q ON q.run_id = l.run_id AND q.suite = l.suite AND q.table_name = l.table_name
        GROUP BY l.table_name, l.suite, l.run_id
        ORDER BY failed DESC, l.table_name
        """,
    )


def quality_failures(engine: Engine) -> pd.DataFrame:
    """Return the failed expectations of each table's latest run, with what was observed."""
    return _frame(
        engine,
        _LATEST_QUALITY
        + """
        SELECT q.table_name, q.suite, q.expectation, q.observed::text AS observed, q.checked_at
        FROM latest l
        JOIN ops.quality_results q ON q.run_id = l.run_id AND q.suite = l.suite AND q.table_name = l.table_name
        WHERE NOT q.success
        ORDER BY q.table_name, q.expectation
        """,
    )


def quarantine_counts(engine: Engine, *, since: datetime | None = None) -> pd.DataFrame:
    """Return quarantined rows per table, source and reason (since `since`, or ever), with the newest time."""
    where = "WHERE quarantined_at >= :since" if since is not None else ""
    return _frame(
        engine,
        f"""
        SELECT table_name, source, reason, count(*) AS rows, max(quarantined_at) AS latest
        FROM ops.quarantine {where}
        GROUP BY table_name, source, reason ORDER BY rows DESC, table_name, reason LIMIT 200
        """,
        {"since": since},
    )


def feed_freshness(engine: Engine, *, now: datetime | None = None) -> pd.DataFrame:
    """Return every ingest watermark with the age of its newest row and of its last advance, stalest first."""
    return _frame(
        engine,
        """
        SELECT venue, symbol, stream, timeframe, last_ts, updated_at,
               extract(epoch FROM coalesce(CAST(:now AS timestamptz), now()) - last_ts)::float8 AS age_s,
               extract(epoch FROM coalesce(CAST(:now AS timestamptz), now()) - updated_at)::float8 AS since_advance_s
        FROM market.ingest_watermarks
        ORDER BY age_s DESC, venue, symbol, stream, timeframe
        """,
        {"now": now},
    )


def heartbeats(engine: Engine, *, now: datetime | None = None) -> pd.DataFrame:
    """Return each component's latest heartbeat and its age (one index lookup per component)."""
    return _frame(
        engine,
        """
        WITH RECURSIVE components AS (
            (SELECT component FROM ops.heartbeats ORDER BY component LIMIT 1)
            UNION ALL
            SELECT next.component FROM components,
            LATERAL (SELECT h.component FROM ops.heartbeats h WHERE h.component > components.component
                     ORDER BY h.component LIMIT 1) AS next
        )
        SELECT c.component, beat.ts,
               extract(epoch FROM coalesce(CAST(:now AS timestamptz), now()) - beat.ts)::float8 AS age_s,
               beat.details::text AS details
        FROM components c
        CROSS JOIN LATERAL (SELECT ts, details FROM ops.heartbeats h WHERE h.component = c.component
                            ORDER BY h.ts DESC LIMIT 1) AS beat
        ORDER BY age_s DESC
        """,
        {"now": now},
    )


def open_alerts(engine: Engine, *, limit: int = 50) -> pd.DataFrame:
    """Return the newest unacknowledged alerts (from their partial index)."""
    return _frame(
        engine,
        "SELECT id, raised_at, severity, source, message FROM ops.alerts WHERE acknowledged_at IS NULL "
        "ORDER BY raised_at DESC LIMIT :limit",
        {"limit": limit},
    )


def window(now: datetime, days: float) -> tuple[datetime, datetime]:
    """Return [now - days, now + a microsecond): a window that includes `now`."""
    return now - days * _DAY, now + timedelta(microseconds=1)
