from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traider.features.online import forward_labels
from traider.strategies.indicators import ema, rsi

FEATURES = ["log_return", "log_return_lag_1", "log_return_lag_2", "rsi_14", "close_over_ema_12", "realised_vol_24"]
HORIZONS = (1, 4)


def training_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """A small training set built from OHLCV in the shape of `features.training_set` (test data only)."""
    close = bars["close"]
    log_return = np.log(close).diff()
    frame = bars[["open", "high", "low", "close", "volume"]].assign(
        log_return=log_return,
        log_return_lag_1=log_return.shift(1),
        log_return_lag_2=log_return.shift(2),
        rsi_14=rsi(close, 14),
        close_over_ema_12=close / ema(close, 12),
        realised_vol_24=log_return.rolling(24).std(),
    )
    step = bars.index[1] - bars.index[0]
    return frame.join(forward_labels(bars, f"{int(step.total_seconds() // 60)}m", HORIZONS))


@pytest.fixture(scope="session")
def btc_training_frame(shared_data: Path) -> pd.DataFrame:
    bars = pd.read_feather(shared_data / "freqtrade" / "tests" / "testdata" / "UNITTEST_BTC-5m.feather")
    return training_frame(bars.set_index("date"))


def planted_frame(rows: int = 3000, seed: int = 4, edge: float = 0.004) -> pd.DataFrame:
    """Bars whose next return follows the sign of a feature known at the bar's close: a real, learnable edge."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    noise = rng.normal(0.0, 0.001, rows)
    step = np.concatenate(([0.0], edge * np.sign(signal[:-1]) + noise[1:]))
    close = 100.0 * np.exp(np.cumsum(step))
    index = pd.date_range("2024-01-01", periods=rows, freq="1h", tz="UTC")
    opens = np.concatenate(([100.0], close[:-1]))
    bars = pd.DataFrame({"open": opens, "high": np.maximum(opens, close), "low": np.minimum(opens, close),
                         "close": close, "volume": 1.0}, index=index)  # fmt: skip
    frame = training_frame(bars).assign(planted=signal, distraction=rng.normal(size=rows))
    return frame
