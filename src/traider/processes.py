"""Background processes this process started (the MLflow server, Airflow's services): remember, check, reap.

A process we started stays our child until reaped: `process_alive` asks its `Popen` (so an exited child is not
taken for a running one), and otherwise signal 0 plus /proc (a zombie does not count as running).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def remember(process: subprocess.Popen[bytes]) -> None:
    """Keep `process` so its liveness is read from its `Popen` and it can be reaped."""
    _STARTED[process.pid] = process


def started(pid: int) -> subprocess.Popen[bytes] | None:
    """Return the `Popen` of a process this one started, if it is still remembered."""
    return _STARTED.get(pid)


def process_alive(pid: int) -> bool:
    """Return True while `pid` runs (a zombie, exited but not yet reaped, does not count)."""
    process = _STARTED.get(pid)
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def reap(pid: int, timeout_s: float = 5.0) -> None:
    """Forget a process this one started, waiting up to `timeout_s` for its exit status."""
    process = _STARTED.pop(pid, None)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout_s)


def last_log_line(log_file: Path) -> str:
    """Return the last non-empty line of a service's log (for one-line errors), or what stands in for it."""
    try:
        lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "empty log"
