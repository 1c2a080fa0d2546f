"""`traider worker`: the always-on execution worker (paper or live; stored bars replayed, or a live feed)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from traider.cli.context import console, load_settings
from traider.errors import ConfigurationError

if TYPE_CHECKING:
    from traider.execution.worker import StrategyProvider


def worker(
    venue: Annotated[str, typer.Option("--venue", help="Venue of the market (fee schedule and stored bars).")],
    symbol: Annotated[str, typer.Option("--symbol", help="Market to trade, e.g. BTC/USDT.")],
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar size the strategy trades on.")] = "1h",
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="paper (simulated fills) or live (real orders through the ccxt broker: needs TRAIDER_LIVE_TRADING="
            "enabled and the venue's API key and secret).",
        ),
    ] = "paper",
    feed: Annotated[
        str,
        typer.Option(
            "--feed",
            help="stored (replay the bars in market.ohlcv; paper only) or live (the venue's websocket: bars built "
            "from its ticks on the wall clock, warmed up on the stored bars). Default: stored for paper, else live.",
        ),
    ] = "",
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
    health_host: Annotated[
        str, typer.Option("--health-host", help="Address GET /health listens on (0.0.0.0 in a container).")
    ] = "127.0.0.1",
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
    from traider.execution.worker import Worker, WorkerConfig, stored_bars
    from traider.risk.pretrade import PreTradeLimits

    feed = _check_choices(mode, feed, model, strategy, tracing)
    settings = load_settings()
    broker = None
    if mode == "live":
        from traider.execution.ccxt_broker import make_live_broker

        broker = make_live_broker(settings)  # refuses unless live trading is enabled and the keys are set
    engine = application_engine(settings)
    configure_tracing(tracing)  # type: ignore[arg-type]
    provider = _provider(model, alias, poll, strategy, param or [])
    costs = BarCosts.from_cost_model(CostModel(venue=venue, market_type=market_type), slippage_bps=slippage_bps)
    config = WorkerConfig(
        venue=venue,
        symbol=symbol,
        costs=costs,
        timeframe=timeframe,
        mode="paper" if mode == "paper" else "live",
        initial_cash=cash,
        limits=PreTradeLimits.for_mode("paper" if mode == "paper" else "live_small"),
        pace_s=pace,
    )
    running = Worker(config, engine, provider, broker=broker)
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    health = HealthServer(running.status, host=health_host, port=health_port).start() if health_port else None
    try:
        bars = partial(stored_bars, engine, venue, symbol, timeframe, _date(since), _date(until))
        if feed == "stored":
            summary = running.run_resilient(bars, stop)
        else:
            import asyncio

            from traider.execution.live_feed import make_live_stream, run_live

            stream = make_live_stream(settings, engine, venue, symbol)
            summary = asyncio.run(run_live(running, stream, stop, warmup=bars()))
    finally:
        if health is not None:
            health.stop()
    console.print(
        f"worker {config.component}: {summary.bars} bars traded ({summary.warmup_bars} replayed for warm-up), "
        f"{summary.orders} orders, {summary.fills} fills, equity {summary.equity:,.2f}, "
        f"{len(summary.refusals)} risk refusals, {summary.model_swaps} model swaps"
    )


def _check_choices(mode: str, feed: str, model: str, strategy: str, tracing: str) -> str:
    """Refuse inconsistent options with one line each; return the feed (its default follows the mode)."""
    if mode not in ("paper", "live"):
        raise ConfigurationError(f"--mode {mode!r}: choose paper or live")
    feed = feed or ("stored" if mode == "paper" else "live")
    if feed not in ("stored", "live"):
        raise ConfigurationError(f"--feed {feed!r}: choose stored or live")
    if mode == "live" and feed != "live":
        raise ConfigurationError("--mode live trades on the live feed only (drop --feed stored)")
    if bool(model) == bool(strategy):
        raise ConfigurationError("name exactly one of --model (a registered model) or --strategy (a rule strategy)")
    if tracing not in ("none", "console", "otlp"):
        raise ConfigurationError(f"--tracing {tracing!r}: choose none, console or otlp")
    return feed


def _provider(model: str, alias: str, poll: float, strategy: str, params: list[str]) -> StrategyProvider:
    """Return the model under its MLflow alias, or the named rule strategy with its parameters."""
    if model:
        from traider.ml.serving import MlflowModelProvider

        return MlflowModelProvider(model, alias, poll_s=poll)
    from traider.cli.backtest import _pair
    from traider.execution.worker import FixedStrategy
    from traider.strategies.registry import make_strategy

    return FixedStrategy(make_strategy(strategy, dict(_pair(item) for item in params)))


def _date(value: str) -> Any:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"{value!r} is not a date like 2024-01-31 or 2024-01-31T12:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
