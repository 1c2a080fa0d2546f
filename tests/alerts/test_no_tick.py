"""NoTickMonitor: deterministic with a fake clock, plus real-time checks of the watchers."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from sqlalchemy import Engine, text

from traider.alerts import Alert, NoTickMonitor, raise_alert


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_no_tick_monitor_silent_just_over_five_seconds_alerts_once(clock: FakeClock) -> None:
    received: list[Alert] = []
    monitor = NoTickMonitor(clock=clock, on_alert=received.append)
    monitor.tick("binance:BTC/USDT:trades")
    clock.now += 5.0
    assert monitor.check() == []
    clock.now += 0.001
    [alert] = monitor.check()
    assert received == [alert]
    assert (alert.severity, alert.source, alert.dedup_key) == (
        "critical",
        "marketdata",
        "no_tick:binance:BTC/USDT:trades",
    )
    assert alert.message == "no tick on binance:BTC/USDT:trades for 5.0 s (threshold 5 s)"
    assert alert.context["stream"] == "binance:BTC/USDT:trades"
    clock.now += 60
    assert monitor.check() == []


def test_no_tick_monitor_new_tick_rearms_alert(clock: FakeClock) -> None:
    monitor = NoTickMonitor(clock=clock)
    monitor.tick("s")
    clock.now += 6
    assert len(monitor.check()) == 1
    monitor.tick("s")
    clock.now += 1
    assert monitor.check() == []
    clock.now += 5
    assert len(monitor.check()) == 1


def test_no_tick_monitor_streams_alert_independently(clock: FakeClock) -> None:
    monitor = NoTickMonitor(threshold_s=2.0, clock=clock)
    monitor.tick("a")
    monitor.tick("b")
    clock.now += 1.5
    monitor.tick("b")
    clock.now += 1.0
    assert [alert.context["stream"] for alert in monitor.check()] == ["a"]


def test_no_tick_monitor_expected_stream_without_tick_alerts(clock: FakeClock) -> None:
    monitor = NoTickMonitor(clock=clock)
    monitor.expect("never")
    clock.now += 5.5
    assert [alert.context["stream"] for alert in monitor.check()] == ["never"]


def test_no_tick_monitor_forgotten_stream_not_alerted(clock: FakeClock) -> None:
    monitor = NoTickMonitor(clock=clock)
    monitor.tick("s")
    monitor.forget("s")
    clock.now += 10
    assert monitor.check() == [] and monitor.silence_s("s") is None


def test_no_tick_monitor_failing_handler_logged_not_raised(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    def fail(alert: Alert) -> None:
        raise RuntimeError("handler down")

    monitor = NoTickMonitor(clock=clock, on_alert=fail)
    monitor.tick("s")
    clock.now += 6
    assert len(monitor.check()) == 1
    assert "no-tick alert handler failed for s" in caplog.text


def test_no_tick_monitor_non_positive_threshold_raises_value_error() -> None:
    with pytest.raises(ValueError, match="positive"):
        NoTickMonitor(threshold_s=0)


def test_no_tick_monitor_concurrent_ticks_and_checks_alert_each_stream_once(clock: FakeClock) -> None:
    monitor = NoTickMonitor(clock=clock)
    keys = [f"stream-{n}" for n in range(50)]

    def tick_all() -> None:
        for _ in range(200):
            for key in keys:
                monitor.tick(key)

    threads = [threading.Thread(target=tick_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(100):
        monitor.check()
    for thread in threads:
        thread.join()
    clock.now += 6
    results = [threading.Thread(target=monitor.check) for _ in range(8)]
    alerts: list[Alert] = []
    monitor._on_alert = alerts.append  # collect from every checking thread
    for thread in results:
        thread.start()
    for thread in results:
        thread.join()
    assert sorted(alert.context["stream"] for alert in alerts) == sorted(keys)


def test_no_tick_monitor_watch_silent_stream_alerts_within_threshold_plus_interval() -> None:
    threshold_s, interval_s = 0.5, 0.1
    alerted_at: list[float] = []
    monitor = NoTickMonitor(threshold_s=threshold_s, on_alert=lambda alert: alerted_at.append(time.monotonic()))

    async def run() -> float:
        watcher = asyncio.create_task(monitor.watch(interval_s))
        monitor.tick("s")
        last_tick = time.monotonic()
        await asyncio.sleep(threshold_s + interval_s + 0.2)
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
        return last_tick

    last_tick = asyncio.run(run())
    assert len(alerted_at) == 1
    assert threshold_s < alerted_at[0] - last_tick <= threshold_s + interval_s + 0.05


def test_no_tick_monitor_thread_alerts_and_stops() -> None:
    alerted = threading.Event()
    monitor = NoTickMonitor(threshold_s=0.2, on_alert=lambda alert: alerted.set())
    stop = monitor.start_thread(0.05)
    try:
        monitor.tick("s")
        assert alerted.wait(timeout=1.0)
    finally:
        stop()


def test_no_tick_monitor_with_raise_alert_writes_ops_alerts(
    clock: FakeClock, clean_tables: Engine, app_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = NoTickMonitor(clock=clock, on_alert=lambda alert: raise_alert(app_engine, alert, channels=[]))
    monitor.tick("kraken:ETH/USD:book")
    clock.now += 7
    monitor.check()
    with clean_tables.connect() as connection:
        row = connection.execute(text("SELECT severity, source, message FROM ops.alerts")).one()
    assert tuple(row) == ("critical", "marketdata", "no tick on kraken:ETH/USD:book for 7.0 s (threshold 5 s)")
    assert any(record.levelno == logging.ERROR for record in caplog.records)
