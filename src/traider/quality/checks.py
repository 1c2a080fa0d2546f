"""SQL of the cross-row checks: each returns the offending rows of the window (none when the data is good).

Every query is the `unexpected_rows_query` of a Great Expectations `UnexpectedRowsExpectation`: GX
replaces `{batch}` with the window's rows, `(SELECT * FROM <table> WHERE ts in [start, end)) AS
subselect`. Checks that need rows from before the window (the previous bar, the rolling history)
read the table directly with an explicit bound. GX decides how to alias `{batch}` by looking for
the word JOIN, so these queries join with `FROM a, LATERAL (...)` and never spell it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traider.quality.definitions import SuiteDefinition
    from traider.quality.window import Window

BATCH = "{batch}"

# The interval of an OHLCV timeframe such as '5m', '1h', '1M' (the table's CHECK guarantees the format).
TIMEFRAME_INTERVAL = (
    "CAST(substring(timeframe FROM '^[0-9]+') || CASE right(timeframe, 1) WHEN 's' THEN ' seconds' "
    "WHEN 'm' THEN ' minutes' WHEN 'h' THEN ' hours' WHEN 'd' THEN ' days' WHEN 'w' THEN ' weeks' "
    "WHEN 'M' THEN ' months' END AS interval)"
)


@dataclass(frozen=True)
class MonotonicIngestion:
    """Per series, in ingestion order, ts never goes back (`strict`: nor repeats)."""

    strict: bool = True


@dataclass(frozen=True)
class Gaps:
    """No more than `max_missing_bars` consecutive bars missing between bars of a series."""

    max_missing_bars: int = 0
    series_lookback: str = "1 day"


@dataclass(frozen=True)
class PriceJumps:
    """No log return beyond `n_std` rolling standard deviations of the previous `window` returns."""

    price_column: str
    n_std: float = 10.0
    window: int = 100
    min_periods: int = 20
    min_abs_log_return: float = 0.0
    history: str = "7 days"
    tiebreak: str | None = None

    def __post_init__(self) -> None:
        if not 2 <= self.min_periods <= self.window:
            raise TypeError(f"need 2 <= min_periods <= window, not {self.min_periods} and {self.window}")


@dataclass(frozen=True)
class CrossedBook:
    """The best bid is below the best ask (`allow_locked`: or equal to it)."""

    allow_locked: bool = False


@dataclass(frozen=True)
class StaleFunding:
    """Every live series has a funding rate within `max_intervals` intervals before the window end."""

    interval: str = "8 hours"
    max_intervals: int = 2
    series_lookback: str = "7 days"


@dataclass(frozen=True)
class CrossVenueDivergence:
    """At one ts, the highest price across venues is at most `max_relative_difference` above the lowest."""

    price_column: str
    max_relative_difference: float = 0.02
    venue_column: str = "venue"


def monotonic_ingestion(suite: SuiteDefinition, window: Window, params: MonotonicIngestion) -> str:
    """Return rows whose ts is not after (strict) or before (non-strict) a ts of their series ingested earlier."""
    series = ", ".join(suite.series)
    time = suite.time_column
    operator = "<=" if params.strict else "<"
    return f"""
WITH ordered AS (
    SELECT {series}, {time}, ingested_at,
           max({time}) OVER (PARTITION BY {series} ORDER BY ingested_at, {time}
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS latest_ingested_before
    FROM {BATCH}
)
SELECT {series}, {time}, ingested_at, latest_ingested_before
FROM ordered
WHERE {time} {operator} latest_ingested_before
ORDER BY {series}, ingested_at, {time}"""


def gaps(suite: SuiteDefinition, window: Window, params: Gaps) -> str:
    """Return spans between consecutive bars (or the window end) with too many bars missing."""
    series = ", ".join(suite.series)
    time = suite.time_column
    start, end = window.start_sql, window.end_sql
    return f"""
WITH window_rows AS (
    SELECT {series}, {time} FROM {BATCH}
),
recent AS (
    SELECT DISTINCT {series} FROM {suite.table}
    WHERE {time} >= {start} - INTERVAL '{params.series_lookback}' AND {time} < {start}
),
series AS (
    SELECT {series} FROM window_rows UNION SELECT {series} FROM recent
),
bars AS (
    SELECT {series}, {time} FROM window_rows
    UNION ALL
    SELECT {_prefixed("s", suite.series)}, previous.{time}
    FROM series s, LATERAL (
        SELECT o.{time} FROM {suite.table} o
        WHERE {_matching("o", "s", suite.series)} AND o.{time} < {start}
        ORDER BY o.{time} DESC LIMIT 1
    ) AS previous
),
spans AS (
    SELECT {series}, {time} AS last_bar,
           lead({time}, 1, {end}) OVER (PARTITION BY {series} ORDER BY {time}) AS next_bar,
           {TIMEFRAME_INTERVAL} AS bar_interval
    FROM bars
)
SELECT {series}, last_bar, next_bar,
       CAST(round(extract(epoch FROM next_bar - last_bar) / extract(epoch FROM bar_interval)) AS bigint) - 1
           AS missing_bars
FROM spans
WHERE last_bar + bar_interval * {params.max_missing_bars + 1} < next_bar
ORDER BY {series}, last_bar"""


def price_jumps(suite: SuiteDefinition, window: Window, params: PriceJumps) -> str:
    """Return prices whose log return exceeds `n_std` rolling standard deviations (and the floor).

    The rolling statistics come from running sums (differences of cumulative sums `window` rows
    apart), linear in the rows, where a framed `stddev_samp` would cost rows x window.
    """
    series = ", ".join(suite.series)
    time, price, start = suite.time_column, params.price_column, window.start_sql
    tiebreak = params.tiebreak
    order = f"{time}, {tiebreak}" if tiebreak else time
    extra = f", {tiebreak}" if tiebreak else ""
    extra_stored = f", o.{tiebreak}" if tiebreak else ""
    latest_first = f"o.{time} DESC, o.{tiebreak} DESC" if tiebreak else f"o.{time} DESC"
    return f"""
WITH window_rows AS (
    SELECT {series}, {time}{extra}, {price} AS price FROM {BATCH}
),
series AS (
    SELECT DISTINCT {series} FROM window_rows
),
history AS (
    SELECT {_prefixed("s", suite.series)}, earlier.*
    FROM series s, LATERAL (
        SELECT o.{time}{extra_stored}, o.{price} AS price FROM {suite.table} o
        WHERE {_matching("o", "s", suite.series)}
          AND o.{time} < {start} AND o.{time} >= {start} - INTERVAL '{params.history}'
        ORDER BY {latest_first} LIMIT {params.window + 1}
    ) AS earlier
),
points AS (
    SELECT {series}, {time}{extra}, price, true AS in_window FROM window_rows
    UNION ALL
    SELECT {series}, {time}{extra}, price, false FROM history
),
returns AS (
    SELECT *, ln(price / lag(price) OVER ordered) AS log_return FROM points
    WINDOW ordered AS (PARTITION BY {series} ORDER BY {order})
),
running AS (
    SELECT *, count(log_return) OVER upto AS n, sum(log_return) OVER upto AS s1,
           sum(log_return * log_return) OVER upto AS s2
    FROM returns
    WINDOW upto AS (PARTITION BY {series} ORDER BY {order} ROWS UNBOUNDED PRECEDING)
),
previous AS (
    SELECT *, {_trailing("n", params.window)} AS rolling_count, {_trailing("s1", params.window)} AS rolling_sum,
           {_trailing("s2", params.window)} AS rolling_squares
    FROM running
    WINDOW ordered AS (PARTITION BY {series} ORDER BY {order})
),
scored AS (
    SELECT *, sqrt(greatest(
               (rolling_squares - rolling_sum * rolling_sum / rolling_count) / (rolling_count - 1), 0)) AS rolling_std
    FROM previous
    WHERE in_window AND rolling_count >= {params.min_periods}
)
SELECT {series}, {time}{extra}, price, log_return, rolling_std,
       abs(log_return) / NULLIF(rolling_std, 0) AS standard_deviations
FROM scored
WHERE abs(log_return) > greatest({params.n_std} * rolling_std, {params.min_abs_log_return})
ORDER BY {series}, {order}"""


def crossed_book(suite: SuiteDefinition, window: Window, params: CrossedBook) -> str:
    """Return snapshots whose highest bid is at or above (or above, with `allow_locked`) the lowest ask."""
    series = ", ".join(suite.series)
    time = suite.time_column
    operator = ">" if params.allow_locked else ">="
    return f"""
WITH best AS (
    SELECT {series}, {time}, sequence,
           (SELECT max(level) FROM unnest(bid_prices) AS level) AS best_bid,
           (SELECT min(level) FROM unnest(ask_prices) AS level) AS best_ask
    FROM {BATCH}
)
SELECT {series}, {time}, sequence, best_bid, best_ask,
       CASE WHEN best_bid = best_ask THEN 'locked' ELSE 'crossed' END AS book_state
FROM best
WHERE best_bid {operator} best_ask
ORDER BY {series}, {time}, sequence"""


def stale_funding(suite: SuiteDefinition, window: Window, params: StaleFunding) -> str:
    """Return live series whose latest funding before the window end is older than the allowed intervals."""
    series = ", ".join(suite.series)
    time, end = suite.time_column, window.end_sql
    return f"""
WITH series AS (
    SELECT {series} FROM {BATCH}
    UNION
    SELECT {series} FROM {suite.table}
    WHERE {time} >= {end} - INTERVAL '{params.series_lookback}' AND {time} < {end}
),
latest AS (
    SELECT {_prefixed("s", suite.series)},
           (SELECT max(o.{time}) FROM {suite.table} o
            WHERE {_matching("o", "s", suite.series)} AND o.{time} < {end}) AS latest_funding
    FROM series s
)
SELECT {series}, latest_funding,
       CAST(extract(epoch FROM {end} - latest_funding) / 3600 AS double precision) AS age_hours
FROM latest
WHERE latest_funding < {end} - INTERVAL '{params.interval}' * {params.max_intervals}
ORDER BY {series}"""


def cross_venue_divergence(suite: SuiteDefinition, window: Window, params: CrossVenueDivergence) -> str:
    """Return (symbol, ..., ts) groups quoted on several venues whose prices differ by more than allowed."""
    venue, price, time = params.venue_column, params.price_column, suite.time_column
    group = ", ".join([column for column in suite.series if column != venue] + [time])
    return f"""
WITH spread AS (
    SELECT {group}, count(*) AS venues,
           min({price}) AS lowest_price, max({price}) AS highest_price,
           (array_agg({venue} ORDER BY {price}))[1] AS lowest_venue,
           (array_agg({venue} ORDER BY {price} DESC))[1] AS highest_venue
    FROM {BATCH}
    GROUP BY {group}
    HAVING count(*) > 1
)
SELECT {group}, venues, lowest_venue, lowest_price, highest_venue, highest_price,
       highest_price / lowest_price - 1 AS relative_difference
FROM spread
WHERE highest_price > lowest_price * (1 + {params.max_relative_difference})
ORDER BY {group}"""


def _trailing(running: str, rows: int) -> str:
    """Return the sum of the `rows` values before the current row, from a running (cumulative) sum."""
    return f"coalesce(lag({running}) OVER ordered, 0) - coalesce(lag({running}, {rows + 1}) OVER ordered, 0)"


def _prefixed(alias: str, columns: tuple[str, ...]) -> str:
    return ", ".join(f"{alias}.{column}" for column in columns)


def _matching(left: str, right: str, columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{left}.{column} = {right}.{column}" for column in columns)
