"""The dashboard as an operator uses it: `traider dashboard run`, headless Chromium, real clicks, screenshots.

Logs in, opens every page from the sidebar (client-side: one browser session throughout), watches a figure
refresh without a reload, engages the kill switch (cancelling once at the confirmation step, then confirming),
checks the database and the audit log, releases it, and saves a screenshot of each step. Screenshots go to
$TRAIDER_DASHBOARD_SCREENSHOTS when set, else to the test's temporary directory.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from tests.dashboard.conftest import PASSWORD, USER, Seeded
from tests.dashboard.seed import WORKER
from tests.dashboard.webdriver import Browser, chromium_session, find_browser, free_port, install_browser
from traider.risk import kill_switch

pytestmark = pytest.mark.slow

PAGES = [  # (url path, title, text that shows the page's data arrived)
    ("orders", "Orders and fills", "Fills in window"),
    ("risk", "Risk", "Historical VaR"),
    ("kill-switch", "Kill switch", "History"),
    ("models", "Models", "Gate decisions and alias moves"),
    ("data-health", "Data health", "Feed freshness"),
    ("analysis", "Backtest against live", "Largest |deviation|"),
]


@pytest.fixture(scope="module")
def browser_binaries() -> tuple[str, str]:
    """Chromium and chromedriver, installed with apt-get when missing (as root); skip when impossible."""
    reason = install_browser()
    found = find_browser()
    if reason or found is None:
        pytest.skip(f"headless Chromium test skipped: {reason or 'chromium not found'}")
    return found


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("TRAIDER_DASHBOARD_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def dashboard(seeded: Seeded, database_url: URL, users_entry: str) -> Iterator[str]:
    """Run `traider dashboard run` on a free port against the test database; yield its URL."""
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRAIDER_")}
    environment.update(
        TRAIDER_DATABASE_URL=database_url.render_as_string(hide_password=False),
        TRAIDER_DASHBOARD_USERS=users_entry,
        TRAIDER_DASHBOARD_REFRESH_S="2",
        TRAIDER_MLFLOW_TRACKING_URI="http://127.0.0.1:9",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "traider", "dashboard", "run", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: streamlit is a child of the CLI
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
                pytest.fail(f"the dashboard did not start: {output[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the dashboard's process group: SIGTERM, then SIGKILL whatever is left after 15 s."""
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        process.poll()  # reap it, or the zombie keeps the group alive
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)


def _button(browser: Browser, label: str) -> str:
    return browser.wait_for(f"//button[normalize-space(.)='{label}']", f"button {label!r}", xpath=True)


def _enabled_button(browser: Browser, label: str) -> str:
    def enabled() -> str | None:
        found = browser.find_all(f"//button[normalize-space(.)='{label}' and not(@disabled)]", xpath=True)
        return found[0] if found else None

    return browser.wait(enabled, f"enabled button {label!r}")


def _checkbox(browser: Browser, label: str) -> str:
    return browser.wait_for(
        f"//*[@data-testid='stCheckbox']//label[.//input[@aria-label='{label}']]", f"checkbox {label!r}", xpath=True
    )


def _idle(browser: Browser) -> None:
    """Wait until Streamlit has finished running the script (no 'Running…' status, nothing stale on screen)."""
    browser.wait(
        lambda: browser.execute(
            "return !document.querySelector('[data-testid=stStatusWidget]') "
            "&& !document.querySelector('[data-stale=true]')"
        ),
        "the script run to finish",
    )


def _open(browser: Browser, path: str, title: str, marker: str) -> None:
    browser.click(browser.wait_for(f"a[data-testid=stSidebarNavLink][href$='/{path}']", f"link to {path}"))
    browser.wait(
        lambda: browser.execute("return document.querySelector('h1')?.innerText.trim()") == title, f"page {title!r}"
    )
    browser.wait_for_text(marker)
    _idle(browser)


def _shoot(browser: Browser, directory: Path, name: str) -> Path:
    time.sleep(0.3)  # let charts finish drawing
    return browser.screenshot(directory / f"{name}.png")


def _check_png(path: Path) -> None:
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1200 and height >= 1000, (path, width, height)
    assert len(data) > 20_000, f"{path} is suspiciously small ({len(data)} bytes)"
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50, f"{path} has only {len(colours)} colours: a blank page?"


def test_operator_session_in_headless_chromium(
    dashboard: str,
    browser_binaries: tuple[str, str],
    screenshots: Path,
    seeded: Seeded,
    app_engine: Engine,
    admin_engine: Engine,
) -> None:
    shots: list[Path] = []
    with chromium_session(*browser_binaries, width=1400, height=1600) as browser:
        browser.get(dashboard)
        browser.type(browser.wait_for("input[aria-label='User name']", "the login form"), USER)
        browser.type(browser.find_all("input[aria-label='Password']")[0], "not the password")
        browser.click(_button(browser, "Log in"))
        browser.wait_for_text("wrong user name or password")
        shots.append(_shoot(browser, screenshots, "01-login-refused"))
        password = browser.find_all("input[aria-label='Password']")[0]
        browser.clear(password)
        browser.type(password, PASSWORD)
        browser.click(_button(browser, "Log in"))
        browser.wait(lambda: browser.execute("return document.querySelector('h1')?.innerText") == "Overview", "login")
        browser.wait_for_text("P&L today")
        _idle(browser)
        shots.append(_shoot(browser, screenshots, "02-overview"))

        # the figures refresh in place: a new P&L snapshot shows up without reloading the page
        browser.execute("window.traiderMarker = 'no reload'")
        with admin_engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO trading.pnl_snapshots (mode, strategy, ts, equity, realised_pnl, unrealised_pnl) "
                    "VALUES ('paper', :worker, now(), 12345.67, 2345.67, 0)"
                ),
                {"worker": WORKER},
            )
        browser.wait_for_text("12,345.67", timeout_s=15)
        assert browser.execute("return window.traiderMarker") == "no reload"

        for number, (path, title, marker) in enumerate(PAGES, start=3):
            _open(browser, path, title, marker)
            assert "Traceback" not in browser.text() and "Error" not in browser.execute(
                "return Array.from(document.querySelectorAll('[data-testid=stException]')).length ? 'Error' : ''"
            )
            shots.append(_shoot(browser, screenshots, f"{number:02d}-{path}"))

        # kill switch: ask, cancel at the confirmation step (nothing recorded), ask again, confirm
        _open(browser, "kill-switch", "Kill switch", "History")
        reason = "browser test: venue incident"
        browser.type(browser.wait_for("input[aria-label^='Reason for engaging']", "the engage form"), reason)
        browser.click(_button(browser, "Engage kill switch…"))
        browser.wait_for_text("You are about to ENGAGE the kill switch")
        browser.click(_button(browser, "Cancel"))
        browser.wait_for_text("Cancelled: the kill switch was not engaged")
        with admin_engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM ops.kill_switch")).scalar_one() == 0
        field = browser.wait_for("input[aria-label^='Reason for engaging']", "the engage form")
        browser.clear(field)
        browser.type(field, reason)
        browser.click(_checkbox(browser, "Also flatten every open position"))
        browser.click(_button(browser, "Engage kill switch…"))
        browser.wait_for_text("ENGAGE the kill switch and FLATTEN every position")
        browser.click(_checkbox(browser, "I confirm"))
        _idle(browser)
        shots.append(_shoot(browser, screenshots, "09-kill-switch-confirm"))
        browser.click(_enabled_button(browser, "Confirm: engage"))
        browser.wait_for_text(f"Kill switch ENGAGED by {USER}")
        _idle(browser)
        shots.append(_shoot(browser, screenshots, "10-kill-switch-engaged"))
        state = kill_switch.current(app_engine)
        assert (state.engaged, state.flatten, state.actor, state.reason) == (True, True, USER, reason)
        with admin_engine.connect() as connection:
            audited = connection.execute(
                text(
                    "SELECT actor, payload FROM audit.events WHERE action = 'kill_switch.engage' "
                    "ORDER BY seq DESC LIMIT 1"
                )
            ).one()
        assert audited.actor == USER and audited.payload == {"flatten": True, "reason": reason}

        browser.type(browser.wait_for("input[aria-label^='Reason for releasing']", "the release form"), "all clear")
        browser.click(_button(browser, "Release kill switch…"))
        browser.wait_for_text("RELEASE the kill switch")
        browser.click(_checkbox(browser, "I confirm"))
        browser.click(_enabled_button(browser, "Confirm: release"))
        browser.wait_for_text(f"Kill switch released by {USER}")
        _idle(browser)
        shots.append(_shoot(browser, screenshots, "11-kill-switch-released"))
        assert not kill_switch.current(app_engine).engaged
        with admin_engine.connect() as connection:
            actions = connection.execute(
                text("SELECT action FROM audit.events WHERE subject = 'kill_switch' ORDER BY seq DESC LIMIT 2")
            ).scalars()
            assert list(actions) == ["kill_switch.release", "kill_switch.engage"]

    assert len(shots) == 11
    for shot in shots:
        _check_png(shot)
    print(f"\nscreenshots: {screenshots}")
