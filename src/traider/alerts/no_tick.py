"""Watch market-data streams and alert when one stays silent for longer than a threshold (5 s by default)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from traider.alerts.model import Alert, Severity

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD_S = 5.0


@dataclass
class _Stream:
    last_tick: float
    alerted: bool = False


class NoTickMonitor:
    """Track the last tick of each stream; `check()` alerts once per silence longer than `threshold_s`.

    A stream is watched from its first `tick()` (or `expect()`); a new tick re-arms its alert.
    All methods are thread-safe; `on_alert` is called outside the lock and its errors are logged.
    """

    def __init__(
        self,
        threshold_s: float = DEFAULT_THRESHOLD_S,
        clock: Callable[[], float] = time.monotonic,
        on_alert: Callable[[Alert], object] | None = None,
        *,
        source: str = "marketdata",
        severity: Severity = "critical",
    ) -> None:
        if threshold_s <= 0:
            raise ValueError(f"no-tick threshold must be positive, not {threshold_s} s")
        self.threshold_s = threshold_s
        self.source = source
        self.severity: Severity = severity
        self._clock = clock
        self._on_alert = on_alert
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()

    def tick(self, stream_key: str) -> None:
        """Record a tick on `stream_key` now, re-arming its alert."""
        now = self._clock()
        with self._lock:
            self._streams[stream_key] = _Stream(last_tick=now)

    def expect(self, stream_key: str) -> None:
        """Start watching `stream_key` before its first tick, so a stream that never ticks alerts too."""
        now = self._clock()
        with self._lock:
            self._streams.setdefault(stream_key, _Stream(last_tick=now))

    def forget(self, stream_key: str) -> None:
        """Stop watching `stream_key` (unsubscribed on purpose)."""
        with self._lock:
            self._streams.pop(stream_key, None)

    def silence_s(self, stream_key: str) -> float | None:
        """Return the seconds since the last tick of `stream_key`, or None when it is not watched."""
        with self._lock:
            stream = self._streams.get(stream_key)
            return None if stream is None else self._clock() - stream.last_tick

    def check(self) -> list[Alert]:
        """Return (and pass to `on_alert`) one alert per stream newly silent for longer than the threshold."""
        now = self._clock()
        alerts: list[Alert] = []
        with self._lock:
            for stream_key, stream in sorted(self._streams.items()):
                silence = now - stream.last_tick
                if silence > self.threshold_s and not stream.alerted:
                    stream.alerted = True
                    alerts.append(self._alert(stream_key, silence))
        for alert in alerts:
            self._emit(alert)
        return alerts

    async def watch(self, interval_s: float = 1.0) -> None:
        """Run `check()` every `interval_s` seconds until cancelled, off the event loop's thread."""
        while True:
            await asyncio.sleep(interval_s)
            await asyncio.to_thread(self.check)

    def start_thread(self, interval_s: float = 1.0) -> Callable[[], None]:
        """Run `check()` every `interval_s` seconds in a daemon thread; return the function that stops it."""
        stopped = threading.Event()

        def run() -> None:
            while not stopped.wait(interval_s):
                self.check()

        thread = threading.Thread(target=run, name="no-tick-monitor", daemon=True)
        thread.start()

        def stop() -> None:
            stopped.set()
            thread.join()

        return stop

    def _alert(self, stream_key: str, silence_s: float) -> Alert:
        return Alert(
            severity=self.severity,
            source=self.source,
            message=f"no tick on {stream_key} for {silence_s:.1f} s (threshold {self.threshold_s:g} s)",
            context={"stream": stream_key, "silence_s": round(silence_s, 3), "threshold_s": self.threshold_s},
            dedup_key=f"no_tick:{stream_key}",
        )

    def _emit(self, alert: Alert) -> None:
        if self._on_alert is None:
            return
        try:
            self._on_alert(alert)
        except Exception:  # the monitor must keep watching whatever the handler does
            logger.exception("no-tick alert handler failed for %s", alert.context.get("stream"))
