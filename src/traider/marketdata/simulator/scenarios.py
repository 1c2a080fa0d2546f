"""Scripted scenarios laid over the random path; for now the flash crash for risk tests.

The crash is a log-price offset of Unix time: zero before `at`, falling linearly to log(1 - depth)
over `fall_seconds` (so the trough is reached within one minute), climbing back linearly over
`recovery_seconds` to log(1 - depth * (1 - recovery_fraction)), and that constant for ever after.
"""

from __future__ import annotations

import math

import numpy as np

from traider.marketdata.simulator.config import FlashCrash
from traider.marketdata.simulator.regimes import FloatArray, IntArray


def crash_offset(crash: FlashCrash | None, seconds: IntArray) -> FloatArray:
    """Return the crash's log-price offset at each Unix second."""
    if crash is None:
        return np.zeros(seconds.shape)
    start = int(crash.at.timestamp())
    trough = math.log1p(-crash.depth)
    final = math.log1p(-crash.depth * (1.0 - crash.recovery_fraction))
    elapsed = (seconds - start).astype(np.float64)
    falling = trough * np.clip((elapsed + 1.0) / crash.fall_seconds, 0.0, 1.0)
    rising = (final - trough) * np.clip((elapsed - crash.fall_seconds + 1.0) / crash.recovery_seconds, 0.0, 1.0)
    return np.asarray(np.where(elapsed < 0, 0.0, falling + rising), dtype=np.float64)


def crash_varies(crash: FlashCrash | None, first: int, last: int) -> bool:
    """Return True when the crash offset is not constant over the Unix seconds [first, last]."""
    if crash is None:
        return False
    start = int(crash.at.timestamp())
    return start <= last and first < start + crash.fall_seconds + crash.recovery_seconds
