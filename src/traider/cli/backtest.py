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
    "'sim:SYMBOL:START:END' (dates) for the seeded simulator, e.g. sim:BTC/USD:2024-01-01:2024-03-01 "
    "(a perpetual such as sim:BTC/USD:USD:… brings its simulated funding rates)."
)
WALK_FORWARD_HELP = (
    "Walk-forward evaluation TRAIN:TEST in bars (e.g. 2000:500): parameters are chosen on each training "
    "window from the --grid and traded on the next test window; folds are stitched out of sample."
)


def backtest(
    strategy: Annotated[
        str, typer.Option("--strategy", help="Strategy name: ema_crossover, rsi_mean_reversion or funding_drift.")
    ],
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
    funding: Annotated[
        Path | None,
        typer.Option("--funding", help="Funding-rate file of the perpetual (freqtrade *-funding_rate.feather …)."),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="vectorised (fast) or events (the worker's event-driven code path).")
    ] = "vectorised",
    walk_forward: Annotated[str, typer.Option("--walk-forward", help=WALK_FORWARD_HELP)] = "",
    scheme: Annotated[str, typer.Option("--scheme", help="Walk-forward training window: rolling or expanding.")] = (
        "rolling"
    ),
    grid: Annotated[
        list[str] | None,
        typer.Option("--grid", help="Walk-forward parameter values NAME=V1,V2,… (repeatable; all combinations)."),
    ] = None,
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

    if engine not in ("vectorised", "events"):
        raise ConfigurationError(f"--engine {engine!r}: choose vectorised or events")
    parameters = dict(_pair(item) for item in (param or []))
    chosen = make_strategy(strategy, parameters)
    costs = BarCosts.from_cost_model(CostModel(venue=venue, market_type=market_type), slippage_bps=slippage_bps)
    run_name = name or f"{strategy}-{datetime.now(tz=UTC):%Y%m%dT%H%M%S}"
    plan = _walk_forward_plan(walk_forward, scheme, grid or [], strategy, parameters)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("loading data", total=None)
        bars = _load_bars(data, timeframe)
        rates = _load_funding(data, funding, timeframe)
        if rates is not None:
            from traider.strategies.funding import with_funding

            bars = with_funding(bars, rates)
        result = run_backtest(
            chosen, bars, costs=costs, monte_carlo_paths=monte_carlo, funding=rates, engine=engine,  # type: ignore[arg-type]
            walk_forward=plan, step=lambda stage: progress.update(task, description=stage),
        )  # fmt: skip
        progress.update(task, description="report")
        html, json_path = write_report(result, run_name, reports)
    report = result.performance
    console.print(
        f"{chosen.name} on {len(bars):,} bars: total return {report.total_return:+.2%}, "
        f"Sharpe {report.sharpe_ratio:.2f}, "
        f"max drawdown {report.max_drawdown:.2%}, fees {result.result.fees_paid:,.2f}, "
        f"slippage {result.result.slippage_paid:,.2f}, funding {result.result.funding_received:+,.2f}, "
        f"round trips {len(result.round_trips)}"
    )
    if result.walk_forward is not None:
        oos = result.walk_forward.performance
        console.print(
            f"walk-forward: {len(result.walk_forward.folds)} folds, out-of-sample return {oos.total_return:+.2%}, "
            f"Sharpe {oos.sharpe_ratio:.2f}, deflated Sharpe probability {result.walk_forward.deflated_sharpe:.3f}"
        )
    console.print(f"Report: {html}  Metrics: {json_path}")


def _walk_forward_plan(walk_forward: str, scheme: str, grid: list[str], strategy: str, fixed: dict[str, str]) -> Any:
    if not walk_forward:
        if grid:
            raise ConfigurationError("--grid needs --walk-forward TRAIN:TEST")
        return None
    from traider.backtest.evaluation import parameter_grid
    from traider.backtest.run import WalkForwardPlan
    from traider.backtest.walkforward import WalkForwardError, WalkForwardSpec
    from traider.strategies.registry import make_strategy, parse_parameter

    train, separator, test = walk_forward.partition(":")
    if not separator or not train.isdigit() or not test.isdigit():
        raise ConfigurationError(f"--walk-forward {walk_forward!r} is not TRAIN:TEST in bars, e.g. 2000:500")
    space: dict[str, list[Any]] = {}
    for item in grid:
        key, values = _pair(item)
        space[key] = [parse_parameter(value) for value in values.split(",") if value.strip()]
    try:
        spec = WalkForwardSpec(int(train), int(test), scheme=scheme)  # type: ignore[arg-type]
    except WalkForwardError as error:
        raise ConfigurationError(f"--walk-forward: {error}") from None

    def factory(chosen: Any) -> Any:
        return make_strategy(strategy, {**fixed, **{key: str(value) for key, value in chosen.items()}})

    for parameters in parameter_grid(space):  # fail on a bad value before any work
        factory(parameters)
    return WalkForwardPlan(spec, factory, parameter_grid(space))


def _load_funding(data: str, funding: Path | None, timeframe: str) -> Any:
    import pandas as pd

    from traider.marketdata.records import Stream

    if funding is not None:
        from traider.marketdata.files.dispatch import open_file_source

        if not funding.is_file():
            raise ConfigurationError(f"--funding {funding} is not a file")
        source = open_file_source(funding, venue="file", symbol="FILE/DATA:USD", timeframe=timeframe,
                                  stream=Stream.FUNDING_RATES)  # fmt: skip
        frames = [batch.frame for batch in source.read(Stream.FUNDING_RATES)]
        rates = pd.concat(frames) if frames else pd.DataFrame()
        if rates.empty:
            raise ConfigurationError(f"--funding {funding} holds no funding rates")
        if rates["mark_price"].isna().any():
            raise ConfigurationError(f"--funding {funding}: some rates have no mark price; put the mark file beside it")
        return rates
    if data.startswith("sim:") and ":" in data.removeprefix("sim:").rsplit(":", 2)[0]:
        from traider.marketdata.simulator.source import SimulatorSource
        from traider.marketdata.source import FetchRequest

        symbol, begin, finish = _sim_request(data)
        request = FetchRequest(Stream.FUNDING_RATES, "sim", symbol, begin, finish, timeframe)
        return pd.concat([batch.frame for batch in SimulatorSource().fetch(request)])
    return None


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

    symbol, begin, finish = _sim_request(data)
    request = FetchRequest(Stream.OHLCV, "sim", symbol, begin, finish, timeframe)
    frames = [batch.frame for batch in SimulatorSource().fetch(request)]
    return pd.concat(frames).set_index("ts")[["open", "high", "low", "close", "volume"]]


def _sim_request(data: str) -> tuple[str, datetime, datetime]:
    try:
        head, start, end = data.rsplit(":", 2)  # the symbol may hold a colon (BTC/USD:USD); dates do not
        begin, finish = (datetime.fromisoformat(moment).replace(tzinfo=UTC) for moment in (start, end))
    except ValueError:
        raise ConfigurationError(
            f"--data {data!r}: write sim:SYMBOL:START:END, e.g. sim:BTC/USD:2024-01-01:2024-03-01"
        ) from None
    return head.removeprefix("sim:"), begin, finish


def _pair(item: str) -> tuple[str, str]:
    key, separator, value = item.partition("=")
    if not separator or not key:
        raise ConfigurationError(f"--param {item!r} is not NAME=VALUE")
    return key.strip(), value.strip()
