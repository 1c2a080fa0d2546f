"""`traider backtest`: run a strategy on OHLCV data with fees and slippage, and write the report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from traider.cli.context import console
from traider.errors import ConfigurationError

DATA_HELP = (
    "OHLCV to test on: a market-data file (freqtrade json/feather/parquet, CSV) or "
    "'sim:SYMBOL:START:END' (dates) for the seeded simulator, e.g. sim:BTC/USD:2024-01-01:2024-03-01."
)


def backtest(
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy name: ema_crossover or rsi_mean_reversion.")],
    data: Annotated[str, typer.Option("--data", help=DATA_HELP)],
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Strategy parameter NAME=VALUE (repeatable).")
    ] = None,
    timeframe: Annotated[
        str, typer.Option("--timeframe", help="Bar size of the data (for files and the simulator).")
    ] = "1h",
    venue: Annotated[
        str, typer.Option("--venue", help="Fee schedule venue: coinbase, binance, kraken, bybit.")
    ] = "binance",
    market_type: Annotated[str, typer.Option("--market-type", help="spot or linear_perp (fee schedule).")] = "spot",
    slippage_bps: Annotated[float, typer.Option("--slippage-bps", help="Slippage per fill in basis points.")] = 2.0,
    monte_carlo: Annotated[int, typer.Option("--monte-carlo", help="Bootstrap paths (0 to skip).")] = 1000,
    name: Annotated[str, typer.Option("--name", help="Report name (default: strategy and time).")] = "",
    reports: Annotated[Path, typer.Option("--reports", help="Directory for the HTML and JSON report.")] = Path(
        "reports"
    ),
) -> None:
    """Backtest a strategy (fees and slippage always in) and write reports/<name>.html and .json."""
    from traider.backtest.costs.model import CostModel
    from traider.backtest.report import write_report
    from traider.backtest.run import run_backtest
    from traider.backtest.vectorised import BarCosts
    from traider.strategies.registry import make_strategy

    parameters = dict(_pair(item) for item in (param or []))
    chosen = make_strategy(strategy, parameters)
    costs = BarCosts.from_cost_model(CostModel(venue=venue, market_type=market_type), slippage_bps=slippage_bps)
    run_name = name or f"{strategy}-{datetime.now(tz=UTC):%Y%m%dT%H%M%S}"
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("loading data", total=None)
        bars = _load_bars(data, timeframe)
        result = run_backtest(
            chosen, bars, costs=costs, monte_carlo_paths=monte_carlo,
            step=lambda stage: progress.update(task, description=stage),
        )  # fmt: skip
        progress.update(task, description="report")
        html, json_path = write_report(result, run_name, reports)
    report = result.performance
    console.print(
        f"{chosen.name} on {len(bars):,} bars: total return {report.total_return:+.2%}, "
        f"Sharpe {report.sharpe_ratio:.2f}, "
        f"max drawdown {report.max_drawdown:.2%}, fees {result.result.fees_paid:,.2f}, "
        f"slippage {result.result.slippage_paid:,.2f}, round trips {len(result.round_trips)}"
    )
    console.print(f"Report: {html}  Metrics: {json_path}")


def _load_bars(data: str, timeframe: str) -> Any:
    import pandas as pd

    if data.startswith("sim:"):
        return _simulated_bars(data, timeframe)
    from traider.marketdata.files.dispatch import open_file_source
    from traider.marketdata.records import Stream

    path = Path(data)
    if not path.is_file():
        raise ConfigurationError(f"--data {data!r} is neither a file nor sim:SYMBOL:START:END")
    source = open_file_source(path, venue="file", symbol="FILE/DATA", timeframe=timeframe, stream=Stream.OHLCV)
    frames = [batch.frame for batch in source.read(Stream.OHLCV)]
    if not frames or not sum(len(frame) for frame in frames):
        raise ConfigurationError(f"--data {data!r} holds no OHLCV bars")
    bars = pd.concat(frames).drop_duplicates("ts").sort_values("ts").set_index("ts")
    return bars[["open", "high", "low", "close", "volume"]]


def _simulated_bars(data: str, timeframe: str) -> Any:
    import pandas as pd

    from traider.marketdata.records import Stream
    from traider.marketdata.simulator.source import SimulatorSource
    from traider.marketdata.source import FetchRequest

    try:
        head, start, end = data.rsplit(":", 2)  # the symbol may hold a colon (BTC/USD:USD); dates do not
        symbol = head.removeprefix("sim:")
        begin, finish = (datetime.fromisoformat(moment).replace(tzinfo=UTC) for moment in (start, end))
    except ValueError:
        raise ConfigurationError(
            f"--data {data!r}: write sim:SYMBOL:START:END, e.g. sim:BTC/USD:2024-01-01:2024-03-01"
        ) from None
    request = FetchRequest(Stream.OHLCV, "sim", symbol, begin, finish, timeframe)
    frames = [batch.frame for batch in SimulatorSource().fetch(request)]
    return pd.concat(frames).set_index("ts")[["open", "high", "low", "close", "volume"]]


def _pair(item: str) -> tuple[str, str]:
    key, separator, value = item.partition("=")
    if not separator or not key:
        raise ConfigurationError(f"--param {item!r} is not NAME=VALUE")
    return key.strip(), value.strip()
