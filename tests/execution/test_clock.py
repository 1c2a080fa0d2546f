from __future__ import annotations

import time

import pytest

from traider.execution.clock import SimulatedClock, WallClock


def test_simulated_clock_moves_only_forward() -> None:
    clock = SimulatedClock(10)
    clock.advance(10)
    clock.advance(25)
    assert clock.now() == 25
    with pytest.raises(ValueError, match="out of order"):
        clock.advance(24)


def test_wall_clock_is_the_system_time() -> None:
    before = time.time_ns()
    assert before <= WallClock().now() <= time.time_ns()
