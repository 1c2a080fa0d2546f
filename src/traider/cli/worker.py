"""`traider worker`: the always-on execution worker (paper trading over stored bars; live is not built yet)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from traider.cli.context import console, load_settings
from traider.errors import ConfigurationError


def worker(
    venue: Annotated[str, typer.Option("--venue", help="Venue of the market (fee schedule and stored bars).")],
    symbol: Annotated[str, typer.Option("--symbol", help="Market to trade, e.g. BTC/USDT.")],
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar size the strategy trades on.")] = "1h",
    mode: Annotated[
        str, typer.Option("--mode", help="paper (simulated fills on stored or simulated bars) or live.")
    ] = ("paper"),
    model: Annotated[str, typer.Option("--model", help="Registered model to trade (its --alias version).")] = "",
    alias: Annotated[str, typer.Option("--alias", help="MLflow alias to follow.")] = "production",
    strategy: Annotated[str, typer.Option("--strategy", help="A rule strategy instead of a model.")] = "",
    param: Annotated[list[str] | None, typer.Option("--param", help="Rule strategy parameter NAME=VALUE.")] = None,
    since: Annotated[str, typer.Option("--since", help="Replay bars from this date (paper mode).")] = "",
    until: Annotated[str, typer.Option("--until", help="Replay bars up to this date (paper mode).")] = "",
    pace: Annotated[
        float, typer.Option("--pace", help="Wall seconds per replayed bar (0: as fast as possible).")
    ] = 0.0,
    cash: Annotated[float, typer.Option("--cash", help="Starting cash of a new paper account.")] = 10_000.0,
    market_type: Annotated[str, typer.Option("--market-type", help="spot or linear_perp (fee schedule).")] = "spot",
    slippage_bps: Annotated[float, typer.Option("--slippage-bps", help="Paper slippage per fill.")] = 2.0,
    health_port: Annotated[int, typer.Option("--health-port", help="Port of GET /health (0: none).")] = 0,
    tracing: Annotated[str, typer.Option("--tracing", help="OpenTelemetry spans: none, console or otlp.")] = "none",
    poll: Annotated[float, typer.Option("--poll", help="Seconds between checks of the model alias.")] = 30.0,
) -> None:
    """Trade a registered model (or a rule strategy) bar by bar with the risk limits of the mode.

    Orders and fills go to the trading schema exactly once; stop it with Ctrl-C or SIGTERM at any moment and
    start it again: it resumes after the last bar it finished. `traider kill-switch engage` stops new exposure.
    """
    from traider.backtest.costs.model import CostModel
    from traider.backtest.vectorised import BarCosts
    from traider.db.engine import application_engine
    from traider.execution.health import HealthServer
    from traider.execution.telemetry import configure_tracing
    from traider.execution.worker import FixedStrategy, StrategyProvider, Worker, WorkerConfig, stored_bars
    from traider.risk.pretrade import PreTradeLimits

    if mode == "live":
        raise ConfigurationError("live trading is not available yet: run --mode paper")
    if mode != "paper":
        raise ConfigurationError(f"--mode {mode!r}: choose paper or live")
    if bool(model) == bool(strategy):
        raise ConfigurationError("name exactly one of --model (a registered model) or --strategy (a rule strategy)")
    if tracing not in ("none", "console", "otlp"):
        raise ConfigurationError(f"--tracing {tracing!r}: choose none, console or otlp")
    settings = load_settings()
    engine = application_engine(settings)
    configure_tracing(tracing)  # type: ignore[arg-type]
    provider: StrategyProvider
    if model:
        from traider.ml.serving import MlflowModelProvider

        provider = MlflowModelProvider(model, alias, poll_s=poll)
    else:
        from traider.cli.backtest import _pair
        from traider.strategies.registry import make_strategy

        provider = FixedStrategy(make_strategy(strategy, dict(_pair(item) for item in (param or []))))
    costs = BarCosts.from_cost_model(CostModel(venue=venue, market_type=market_type), slippage_bps=slippage_bps)
    config = WorkerConfig(
        venue=venue,
        symbol=symbol,
        costs=costs,
        timeframe=timeframe,
        mode="paper",
        initial_cash=cash,
        limits=PreTradeLimits.for_mode("paper"),
        pace_s=pace,
    )
    running = Worker(config, engine, provider)
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    health = HealthServer(running.status, port=health_port).start() if health_port else None
    try:
        start, end = _date(since), _date(until)
        summary = running.run_resilient(lambda: stored_bars(engine, venue, symbol, timeframe, start, end), stop)
    finally:
        if health is not None:
            health.stop()
    console.print(
        f"worker {config.component}: {summary.bars} bars traded ({summary.warmup_bars} replayed for warm-up), "
        f"{summary.orders} orders, {summary.fills} fills, equity {summary.equity:,.2f}, "
        f"{len(summary.refusals)} risk refusals, {summary.model_swaps} model swaps"
    )


def _date(value: str) -> Any:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"{value!r} is not a date like 2024-01-31 or 2024-01-31T12:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
