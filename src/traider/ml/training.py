"""Train one spec: purged walk-forward CV with a hyperparameter search inside each training window, a
fee- and slippage-aware backtest of the model's signals on each test window, and a final fit.

Per fold (splits from `traider.backtest.walkforward`, purged by the label's end time, so no training
label overlaps the test window):
1. the training rows with a known label are cut into an inner training part and a validation tail, with
   `horizon` rows dropped between them so no inner label reaches into the validation rows;
2. every parameter set of the spec's search space (× its fixed hyperparameters) is fitted on the inner
   part (early stopping on the validation tail) and scored by the Sharpe ratio of its signals backtested
   on the validation tail with full costs; the best is kept;
3. it scores the test rows (with the fold's earlier rows as history, for sequence models), the scores
   become targets (`ModelStrategy`), and the test window is backtested from flat with full costs.
Test windows are stitched into one out-of-sample equity curve; its Sharpe ratio, drawdown and deflated
Sharpe probability (trials = parameter sets tried) are what the gate judges. The model registered is then
fitted on the last training window with the parameters most often chosen.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from traider.backtest.evaluation import parameter_grid
from traider.backtest.vectorised import BarCosts, VectorisedResult, run_vectorised
from traider.backtest.walkforward import Fold, WalkForwardSpec, stitch_out_of_sample, walk_forward_splits
from traider.ml.families import FAMILIES
from traider.ml.families.base import ModelFamily, Task
from traider.ml.spec import ModelSpec
from traider.ml.strategy import ModelStrategy

if TYPE_CHECKING:
    import pandas as pd

    from traider.backtest.metrics import PerformanceReport

Step = Callable[[str], None]
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class FoldResult:
    """One fold: its split, the parameters chosen on validation, and the test backtest."""

    fold: Fold
    parameters: dict[str, Any]
    validation_sharpe: float
    test: VectorisedResult
    test_targets: pd.Series
    performance: PerformanceReport


@dataclass(frozen=True)
class TrainingOutcome:
    """Everything the tracking and the gate need about one training run."""

    spec: ModelSpec
    task: Task
    folds: list[FoldResult]
    oos_equity: pd.Series
    oos_performance: PerformanceReport
    dsr_probability: float
    trials: int
    lookahead_clean: bool
    model: ModelFamily
    parameters: dict[str, Any]
    snapshot: dict[str, Any]
    input_example: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def oos_start(self) -> pd.Timestamp:
        """Return the first out-of-sample bar's time."""
        first: pd.Timestamp = self.oos_equity.index[0]
        return first

    @property
    def oos_end(self) -> pd.Timestamp:
        """Return the last out-of-sample bar's time."""
        last: pd.Timestamp = self.oos_equity.index[-1]
        return last


def task_of(spec: ModelSpec) -> Task:
    """Return classification for a `fwd_sign` label, regression for `fwd_return`."""
    return "classification" if spec.label.kind == "fwd_sign" else "regression"


def build_family(
    spec: ModelSpec, parameters: dict[str, Any], members: dict[str, ModelSpec] | None = None
) -> ModelFamily:
    """Instantiate the spec's family with its hyperparameters overridden by `parameters`."""
    hyperparameters = {**spec.hyperparameters, **parameters}
    if spec.family == "ensemble":
        hyperparameters["members"] = _ensemble_members(spec, members or {})
    return FAMILIES[spec.family](hyperparameters, task=task_of(spec), seed=spec.seed)


def model_features(spec: ModelSpec, members: dict[str, ModelSpec] | None = None) -> list[str]:
    """Return the feature columns the model reads: the spec's, plus its ensemble members' (in order)."""
    columns = list(spec.features)
    for name in spec.members:
        columns.extend(column for column in (members or {})[name].features if column not in columns)
    return columns


def train_spec(
    spec: ModelSpec,
    frame: pd.DataFrame,
    *,
    members: dict[str, ModelSpec] | None = None,
    step: Step | None = None,
) -> TrainingOutcome:
    """Run the walk-forward training of `spec` on `frame` (training-set rows with OHLCV, indexed by ts)."""
    import pandas as pd

    from traider.backtest.costs.model import CostModel
    from traider.backtest.deflated_sharpe import walk_forward_dsr
    from traider.backtest.metrics import performance_report
    from traider.strategies.lookahead import check_lookahead

    announce = step or (lambda _text: None)
    columns = model_features(spec, members)
    data = _usable(frame, spec, columns)
    costs = BarCosts.from_cost_model(
        CostModel(venue=spec.trading.venue, market_type=spec.trading.market_type),
        slippage_bps=spec.trading.slippage_bps,
    )
    settings = spec.walk_forward
    split = WalkForwardSpec(settings.train_bars, settings.test_bars, scheme=settings.scheme,
                            purge=settings.purge_bars, embargo=settings.embargo_bars,
                            min_train_size=max(20, settings.train_bars // 2))  # fmt: skip
    # a label not yet known ends "never": such rows are unlabelled, and purged from any training window
    never = pd.DatetimeIndex(data.index).max() + pd.Timedelta(days=36_500)
    ends = pd.to_datetime(data[spec.label.end_column], utc=True)
    label_end = ends.where(ends.notna(), never)
    folds = walk_forward_splits(pd.DatetimeIndex(data.index), split, label_end=label_end)
    grid = parameter_grid(spec.search_space)
    results: list[FoldResult] = []
    trial_sharpes: list[float] = []
    for fold in folds:
        announce(f"fold {fold.number + 1}/{len(folds)}")
        result, sharpes = _run_fold(spec, members, data, columns, fold, grid, costs)
        results.append(result)
        trial_sharpes.extend(sharpes)
    oos = stitch_out_of_sample([result.test.equity for result in results], "equity", 10_000.0)
    performance = performance_report(
        oos,
        fees_paid=sum(result.test.fees_paid for result in results),
        slippage_paid=sum(result.test.slippage_paid for result in results),
    )
    returns = oos.pct_change().dropna().to_numpy()
    dsr = walk_forward_dsr(returns, len(grid), trial_sharpes, performance.periods_per_year)
    announce("final fit")
    chosen = _most_chosen([result.parameters for result in results])
    final_rows = (
        _labelled(data, spec).iloc[-settings.train_bars :] if settings.scheme == "rolling" else _labelled(data, spec)
    )
    model = _fit(spec, members, chosen, final_rows, columns)
    strategy = ModelStrategy(model, columns, threshold=spec.trading.threshold, allow_short=spec.trading.allow_short)
    announce("look-ahead check")
    lookahead = check_lookahead(strategy, data.iloc[-min(len(data), 400) :], cuts=5, seed=spec.seed)
    return TrainingOutcome(
        spec=spec,
        task=task_of(spec),
        folds=results,
        oos_equity=oos,
        oos_performance=performance,
        dsr_probability=float(dsr),
        trials=max(1, len(grid)),
        lookahead_clean=lookahead.clean,
        model=model,
        parameters=chosen,
        snapshot=data_snapshot(frame, columns, spec),
        input_example=data[columns].head(5),
    )


def data_snapshot(frame: pd.DataFrame, columns: list[str], spec: ModelSpec) -> dict[str, Any]:
    """Return the row count, time range and a content hash of the data a model was trained on."""
    import pandas as pd

    used = frame[[*columns, spec.label.column, *PRICE_COLUMNS]]
    digest = hashlib.sha256(pd.util.hash_pandas_object(used, index=True).to_numpy().tobytes()).hexdigest()
    return {
        "rows": len(frame),
        "start": frame.index[0].isoformat() if len(frame) else None,
        "end": frame.index[-1].isoformat() if len(frame) else None,
        "content_sha256": digest,
        "venue": spec.data.venue,
        "symbol": spec.data.symbol,
        "timeframe": spec.data.timeframe,
    }


def _run_fold(
    spec: ModelSpec,
    members: dict[str, ModelSpec] | None,
    data: pd.DataFrame,
    columns: list[str],
    fold: Fold,
    grid: list[dict[str, Any]],
    costs: BarCosts,
) -> tuple[FoldResult, list[float]]:
    from traider.backtest.metrics import performance_report

    train = _labelled(data.iloc[fold.train_index], spec)
    cut = int(len(train) * (1.0 - spec.walk_forward.validation_fraction))
    inner, validation = train.iloc[: max(1, cut - spec.label.horizon)], train.iloc[cut:]
    scored: list[tuple[float, int, ModelFamily]] = []
    for number, parameters in enumerate(grid):
        model = _fit(spec, members, parameters, inner, columns, validation)
        sharpe = _sharpe_on(model, spec, columns, data.iloc[: int(fold.train_index[-1]) + 1], validation.index, costs)
        scored.append((sharpe if math.isfinite(sharpe) else -math.inf, -number, model))
    best_sharpe, negative_number, model = max(scored, key=lambda item: (item[0], item[1]))
    parameters = grid[-negative_number]
    history = data.iloc[int(fold.train_index[0]) : int(fold.test_index[-1]) + 1]
    strategy = ModelStrategy(model, columns, threshold=spec.trading.threshold, allow_short=spec.trading.allow_short)
    targets = strategy.targets(history).iloc[-len(fold.test_index) :]
    bars = data.iloc[fold.test_index][list(PRICE_COLUMNS)]
    test = run_vectorised(bars, targets, costs=costs)
    performance = performance_report(test.equity, positions=test.exposure * test.equity, fees_paid=test.fees_paid,
                                     slippage_paid=test.slippage_paid)  # fmt: skip
    result = FoldResult(fold, dict(parameters), best_sharpe, test, targets, performance)
    return result, [value for value, _, _ in scored]


def _sharpe_on(
    model: ModelFamily,
    spec: ModelSpec,
    columns: list[str],
    history: pd.DataFrame,
    rows: pd.Index,
    costs: BarCosts,
) -> float:
    from traider.backtest.metrics import infer_periods_per_year, sharpe_ratios

    if len(rows) < 3:
        return math.nan
    strategy = ModelStrategy(model, columns, threshold=spec.trading.threshold, allow_short=spec.trading.allow_short)
    targets = strategy.targets(history).loc[rows]
    path = run_vectorised(history.loc[rows, list(PRICE_COLUMNS)], targets, costs=costs)
    values = path.equity.to_numpy()
    return float(sharpe_ratios(values[1:] / values[:-1] - 1.0, infer_periods_per_year(path.equity.index)))


def _fit(
    spec: ModelSpec,
    members: dict[str, ModelSpec] | None,
    parameters: dict[str, Any],
    rows: pd.DataFrame,
    columns: list[str],
    validation: pd.DataFrame | None = None,
) -> ModelFamily:
    model = build_family(spec, parameters, members)
    checks = None
    if validation is not None and len(validation):
        checks = (validation[columns].to_numpy(np.float64), _labels(validation, spec))
    model.fit(rows[columns].to_numpy(np.float64), _labels(rows, spec), checks)
    return model


def _labels(rows: pd.DataFrame, spec: ModelSpec) -> Any:
    values = rows[spec.label.column].to_numpy(np.float64)
    return (values > 0).astype(np.float64) if spec.label.kind == "fwd_sign" else values


def _labelled(data: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    return data[data[spec.label.column].notna()]


def _usable(frame: pd.DataFrame, spec: ModelSpec, columns: list[str]) -> pd.DataFrame:
    needed = [*columns, *PRICE_COLUMNS, spec.label.column, spec.label.end_column]
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        raise ValueError(f"training data for {spec.name} lacks column(s) {', '.join(missing)}")
    data = frame.sort_index()
    data = data[data[columns].notna().all(axis=1)]
    if len(_labelled(data, spec)) < spec.walk_forward.train_bars + spec.walk_forward.test_bars:
        raise ValueError(
            f"{spec.name}: {len(data)} usable rows are fewer than one walk-forward fold needs "
            f"({spec.walk_forward.train_bars} train + {spec.walk_forward.test_bars} test bars)"
        )
    return data


def _most_chosen(choices: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(tuple(sorted(choice.items())) for choice in choices)
    return dict(max(counts.items(), key=lambda item: item[1])[0]) if counts else {}


def _ensemble_members(spec: ModelSpec, members: dict[str, ModelSpec]) -> list[dict[str, Any]]:
    columns = model_features(spec, members)
    weights = spec.weights or [1.0] * len(spec.members)
    described = []
    for name, weight in zip(spec.members, weights, strict=True):
        member = members[name]
        if task_of(member) != task_of(spec):
            raise ValueError(f"ensemble {spec.name}: member {name} predicts {member.label.kind}, not {spec.label.kind}")
        positions = [columns.index(column) for column in member.features]
        described.append({"family": member.family, "hyperparameters": member.hyperparameters,
                          "columns": positions, "weight": weight})  # fmt: skip
    return described
