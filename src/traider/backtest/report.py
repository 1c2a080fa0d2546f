"""Write a backtest's report: one self-contained HTML file (plotly) and a JSON file of the metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from traider.backtest.run import BacktestRun


def write_report(run: BacktestRun, name: str, directory: Path = Path("reports")) -> tuple[Path, Path]:
    """Write `<directory>/<name>.html` and `<name>.json`; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    html_path, json_path = directory / f"{name}.html", directory / f"{name}.json"
    json_path.write_text(json.dumps(report_data(run), indent=2, sort_keys=True, allow_nan=False) + "\n")
    html_path.write_text(_html(run, name))
    return html_path, json_path


def report_data(run: BacktestRun) -> dict[str, Any]:
    """Return the run's metrics as JSON-safe data."""
    data: dict[str, Any] = {
        "strategy": run.strategy,
        "metrics": run.performance.to_dict(),
        "engine": run.engine,
        "fees_paid": run.result.fees_paid,
        "slippage_paid": run.result.slippage_paid,
        "funding_received": run.result.funding_received,
        "fills": len(run.result.trades),
        "round_trips": len(run.round_trips),
    }
    if run.walk_forward is not None:
        data["walk_forward"] = run.walk_forward.to_dict()
    if run.monte_carlo is not None:
        data["monte_carlo"] = {
            "paths": len(run.monte_carlo.sharpe_ratios),
            "sharpe_percentiles": {str(k): _finite(v) for k, v in run.monte_carlo.sharpe_percentiles.items()},
            "max_drawdown_percentiles": {
                str(k): _finite(v) for k, v in run.monte_carlo.max_drawdown_percentiles.items()
            },
        }
    return data


def _html(run: BacktestRun, name: str) -> str:
    import pandas as pd
    import plotly.io as pio

    figures = [_equity_and_drawdown(run), _monthly_heatmap(run.result.equity), _costs(run)]
    if run.walk_forward is not None:
        figures.append(_walk_forward(run))
    if run.monte_carlo is not None:
        figures.append(_monte_carlo(run))
    parts = [pio.to_html(figure, full_html=False, include_plotlyjs=index == 0) for index, figure in enumerate(figures)]
    metrics = "".join(
        f"<tr><th>{key}</th><td>{_cell(value)}</td></tr>" for key, value in run.performance.to_dict().items()
    )
    folds = ""
    if run.walk_forward is not None:
        table = pd.DataFrame([fold.to_dict() for fold in run.walk_forward.folds])
        folds = (
            f"<h2>Walk-forward folds ({run.walk_forward.trials} parameter sets per fold; deflated Sharpe "
            f"probability {_cell(run.walk_forward.deflated_sharpe)})</h2>"
            + table.to_html(index=False, float_format=lambda value: f"{value:,.4f}", border=0)
        )
    trips = run.round_trips.tail(200).to_html(index=False, float_format=lambda value: f"{value:,.4f}", border=0)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}</style></head><body>"
        f"<h1>Backtest {name}: {run.strategy}</h1><h2>Metrics</h2><table>{metrics}</table>"
        + "".join(parts)
        + folds
        + f"<h2>Round trips (last 200 of {len(run.round_trips)})</h2>{trips}</body></html>"
    )


def _equity_and_drawdown(run: BacktestRun) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    equity = run.result.equity
    drawdown = equity / equity.cummax() - 1.0
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], subplot_titles=["Equity", "Drawdown"]
    )
    figure.add_trace(go.Scatter(x=equity.index, y=equity.to_numpy(), name="equity"), row=1, col=1)
    figure.add_trace(go.Scatter(x=drawdown.index, y=drawdown.to_numpy(), name="drawdown", fill="tozeroy"), row=2, col=1)
    figure.update_layout(height=600, showlegend=False)
    return figure


def _monthly_heatmap(equity: pd.Series) -> Any:
    import pandas as pd
    import plotly.graph_objects as go

    month_end = equity.resample("ME").last()
    previous = month_end.shift(1).fillna(equity.iloc[0])
    monthly = month_end / previous - 1.0
    stamps = pd.DatetimeIndex(monthly.index)
    table = pd.DataFrame({"year": stamps.year, "month": stamps.month, "value": monthly.to_numpy()}).pivot_table(
        index="year", columns="month", values="value", aggfunc="sum"
    )
    heatmap = go.Heatmap(
        z=table.to_numpy(),
        x=[str(m) for m in table.columns],
        y=[str(y) for y in table.index],
        colorscale="RdYlGn",
        zmid=0.0,
    )
    figure = go.Figure(heatmap)
    figure.update_layout(title="Monthly returns", xaxis_title="month", yaxis_title="year", height=300)
    return figure


def _costs(run: BacktestRun) -> Any:
    import plotly.graph_objects as go

    paid = [run.result.fees_paid, run.result.slippage_paid, -run.result.funding_received]
    figure = go.Figure(go.Bar(x=["fees", "slippage", "funding (net paid)"], y=paid))
    figure.update_layout(title="Costs paid", height=300)
    return figure


def _walk_forward(run: BacktestRun) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    assert run.walk_forward is not None
    folds = run.walk_forward.folds
    figure = make_subplots(rows=1, cols=2, subplot_titles=["Out-of-sample equity (stitched)", "Sharpe per fold"])
    equity = run.walk_forward.equity
    figure.add_trace(go.Scatter(x=equity.index, y=equity.to_numpy(), name="out of sample"), row=1, col=1)
    numbers = [str(fold.fold.number) for fold in folds]
    figure.add_trace(go.Bar(x=numbers, y=[fold.train_sharpe for fold in folds], name="train"), row=1, col=2)
    figure.add_trace(go.Bar(x=numbers, y=[fold.test.sharpe_ratio for fold in folds], name="test"), row=1, col=2)
    figure.update_layout(height=350, title="Walk-forward")
    return figure


def _monte_carlo(run: BacktestRun) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    assert run.monte_carlo is not None
    figure = make_subplots(rows=1, cols=2, subplot_titles=["Sharpe (bootstrap)", "Max drawdown (bootstrap)"])
    figure.add_trace(go.Histogram(x=run.monte_carlo.sharpe_ratios, nbinsx=50), row=1, col=1)
    figure.add_trace(go.Histogram(x=run.monte_carlo.max_drawdowns, nbinsx=50), row=1, col=2)
    figure.update_layout(height=350, showlegend=False, title="Monte Carlo")
    return figure


def _finite(value: float) -> float | None:
    import math

    return value if math.isfinite(value) else None


def _cell(value: Any) -> str:
    return f"{value:,.4f}" if isinstance(value, float) else str(value)
