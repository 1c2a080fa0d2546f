"""Market-data test fixtures: nothing leaves the machine, and one exchange emulator per test module."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from traider.marketdata.emulator.server import ExchangeEmulator


@pytest.fixture(autouse=True, scope="module")
def loopback_only() -> Iterator[None]:
    """Fail any TCP connection to a non-loopback address made while these tests run."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"connection to non-loopback address {address!r}")
        original(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        yield


@pytest.fixture(scope="module")
def emulator(shared_data: Path) -> Iterator[ExchangeEmulator]:
    """The REST exchange emulator over the shared recordings, one per test module."""
    with ExchangeEmulator(shared_data) as emu:
        yield emu


@pytest.fixture
def no_faults(emulator: ExchangeEmulator) -> Iterator[None]:
    """Start and end a test with no injected faults and an empty request log."""
    emulator.clear_faults()
    emulator.reset_log()
    yield
    emulator.clear_faults()
