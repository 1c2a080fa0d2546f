"""Deterministic randomness: named PCG64 streams and a counter-based hash for per-element draws.

Every stream is derived from the root seed and a few names (symbol, purpose, day), never from the
order of calls, so any day can be generated alone and always comes out the same.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def key_int(*parts: str | int) -> int:
    """Return a stable 63-bit integer naming `parts` (the same in every process and platform)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def generator(seed: int, *parts: str | int) -> np.random.Generator:
    """Return the PCG64 generator of the stream named by `parts` under the root `seed`."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, key_int(*parts)])))


def _mix(value: NDArray[np.uint64]) -> NDArray[np.uint64]:
    value = value + _GOLDEN
    value = (value ^ (value >> np.uint64(30))) * _MIX_1
    value = (value ^ (value >> np.uint64(27))) * _MIX_2
    return value ^ (value >> np.uint64(31))


def hash_uniform(key: int, *columns: NDArray[np.int64]) -> NDArray[np.float64]:
    """Return a uniform in [0, 1) for each element, a pure function of `key` and the columns' values."""
    arrays = np.broadcast_arrays(*columns)
    state = np.full(arrays[0].shape, key, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in arrays:
            state = _mix(state ^ _mix(column.astype(np.uint64)))
    return (state >> np.uint64(11)).astype(np.float64) * 2.0**-53


def hash_normal(key: int, *columns: NDArray[np.int64]) -> NDArray[np.float64]:
    """Return a standard normal for each element (Box-Muller on two hashed uniforms)."""
    radius = np.sqrt(-2.0 * np.log1p(-hash_uniform(key, *columns)))
    angle = 2.0 * np.pi * hash_uniform(key ^ 0x5DEECE66D, *columns)
    return np.asarray(radius * np.cos(angle), dtype=np.float64)
