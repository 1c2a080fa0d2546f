"""Benchmark `training`: wall time and peak memory of training each model spec on the shared data.

Data: the shared BTC/USDT 5m candles (freqtrade orderflow test data, 10,999 bars, 38 days) resampled to the
specs' 1h bars, with the bar features computed by `traider.features.online` (the online twin of the dbt
models) and the labels the training set carries (`traider.features.online.forward_labels`). Each spec in
`models/` is trained by `traider.ml.training.train_spec` — purged walk-forward CV, the search space in every fold,
a fee- and slippage-aware backtest of every test window, the final fit and the look-ahead check — in a
fresh process, so its peak resident memory is its own. MLflow logging is not included.

The peer is the raw limit: one plain fit of the same family on the same rows with the spec's fixed
hyperparameters (what any training must at least cost). The ratio is ours / raw per spec; the headline
figure is the total wall time of all specs, with a target of at most 300 s on this 2-core machine (what
`make demo` can afford).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchmarkResult

CANDLES = Path("freqtrade") / "tests" / "testdata" / "orderflow" / "candles.json"
TARGET_TOTAL_SECONDS = 300.0


def training_frame(horizons: tuple[int, ...] = (1, 4, 12, 24)) -> Any:
    """Return the shared candles with online bar features and forward-return labels, indexed by bar time."""
    import pandas as pd

    from traider.features.online import bar_features, forward_labels, resample_bars
    from traider.marketdata.files.dispatch import open_file_source
    from traider.marketdata.records import Stream

    root = Path(os.environ.get("TRAIDER_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    source = open_file_source(root / CANDLES, venue="binance", symbol="BTC/USDT", timeframe="5m", stream=Stream.OHLCV)
    five_minute = pd.concat([batch.frame for batch in source.read(Stream.OHLCV)])
    bars = resample_bars(five_minute, "1h").set_index("ts").sort_index()
    bars = bars[["open", "high", "low", "close", "volume"]].astype("float64")
    frame = bars.join(bar_features(bars)).join(forward_labels(bars, "1h", horizons))
    return frame


def one(name: str, mode: str) -> dict[str, Any]:
    """Train spec `name` (`mode` "ours": the whole walk-forward training; "raw": one plain fit); time it."""
    import numpy as np

    from traider.ml.spec import load_specs
    from traider.ml.training import _labels, build_family, model_features, train_spec

    specs = load_specs()
    spec = specs[name]
    frame = training_frame()
    started = time.perf_counter()
    if mode == "ours":
        outcome = train_spec(spec, frame, members=specs)
        figures = {
            "folds": len(outcome.folds),
            "oos_sharpe": outcome.oos_performance.sharpe_ratio,
            "trials": outcome.trials,
        }
    else:
        columns = model_features(spec, specs)
        rows = frame[frame[columns].notna().all(axis=1) & frame[spec.label.column].notna()]
        model = build_family(spec, {}, specs)
        model.fit(rows[columns].to_numpy(np.float64), _labels(rows, spec))
        figures = {"rows": len(rows)}
    return {"seconds": time.perf_counter() - started, **figures}


def _measure(name: str, mode: str) -> dict[str, Any]:
    code = f"import json; from benchmarks.bench_training import one; print(json.dumps(one({name!r}, {mode!r})))"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1]
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read() if process.stdout else ""
    if status != 0:
        raise RuntimeError(f"training {name} ({mode}) failed with status {status}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = usage.ru_maxrss / 1024.0  # Linux reports KiB
    return result


def run() -> BenchmarkResult:
    """Train every spec in its own process (ours, then the raw fit) and return the totals."""
    from traider.ml.spec import load_specs

    per_spec: dict[str, Any] = {}
    for name in load_specs():
        ours, raw = _measure(name, "ours"), _measure(name, "raw")
        per_spec[name] = {
            "train_seconds": ours["seconds"],
            "peak_rss_mb": ours["peak_rss_mb"],
            "folds": ours["folds"],
            "trials": ours["trials"],
            "oos_sharpe": ours["oos_sharpe"],
            "raw_fit_seconds": raw["seconds"],
            "raw_peak_rss_mb": raw["peak_rss_mb"],
            "ratio": ours["seconds"] / raw["seconds"],
        }
    total = sum(spec["train_seconds"] for spec in per_spec.values())
    raw_total = sum(spec["raw_fit_seconds"] for spec in per_spec.values())
    for name, figures in per_spec.items():
        print(
            f"  {name}: {figures['train_seconds']:.1f} s, peak {figures['peak_rss_mb']:.0f} MB "
            f"({figures['folds']} folds x {figures['trials']} trials; raw fit {figures['raw_fit_seconds']:.2f} s)"
        )
    return BenchmarkResult.compare(
        name="training",
        description=__doc__.strip().splitlines()[0] if __doc__ else "",
        unit="seconds",
        ours_runs=[total],
        peer_runs=[raw_total],
        peer_name="one plain fit per spec (raw limit)",
        target=TARGET_TOTAL_SECONDS,
        higher_is_better=False,
        target_of="ours",
        details={
            "specs": per_spec,
            "data": str(CANDLES),
            "bars": "10,999 5m bars resampled to 1h",
            "excluded": "MLflow logging and registration (network and disk I/O)",
        },
    )
