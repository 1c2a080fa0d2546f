"""A minimal W3C WebDriver client over HTTP (stdlib only) for driving headless Chromium through chromedriver.

Just what the dashboard's browser test needs: open a URL, find elements by CSS or XPath, click, type, run
JavaScript, wait for a condition, take a screenshot. Chromium and chromedriver come from Debian
(`apt-get install chromium chromium-driver`).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
T = TypeVar("T")


class WebDriverError(RuntimeError):
    """chromedriver answered with an error."""


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def find_browser() -> tuple[str, str] | None:
    """Return (chromium, chromedriver) paths when both are installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def install_browser() -> str | None:
    """Install Debian's chromium and chromium-driver (as root); return why not when that is impossible."""
    if find_browser():
        return None
    if os.geteuid() != 0:
        return "chromium and chromedriver are not installed and the tests do not run as root to apt-get them"
    if not shutil.which("apt-get"):
        return "chromium and chromedriver are not installed and there is no apt-get"
    command = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment, timeout=900)
    if done.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, check=False, env=environment, timeout=600)
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment, timeout=900)
    if done.returncode != 0 or not find_browser():
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"`{' '.join(command)}` failed: {last[0]}"
    return None


class Browser:
    """One WebDriver session."""

    def __init__(self, base: str, session: str) -> None:
        self.base, self.session = base, session

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.base}/session/{self.session}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("value", {})
            raise WebDriverError(f"{detail.get('error', error.code)}: {detail.get('message', '')[:300]}") from None

    def get(self, url: str) -> None:
        """Open `url`."""
        self._call("POST", "/url", {"url": url})

    def execute(self, script: str, *arguments: Any) -> Any:
        """Run JavaScript in the page and return its result."""
        return self._call("POST", "/execute/sync", {"script": script, "args": list(arguments)})

    def find_all(self, selector: str, *, xpath: bool = False) -> list[str]:
        """Return the ids of the elements matching a CSS selector (or an XPath)."""
        found = self._call("POST", "/elements", {"using": "xpath" if xpath else "css selector", "value": selector})
        return [each[ELEMENT] for each in found]

    def click(self, element: str) -> None:
        """Click an element."""
        self._call("POST", f"/element/{element}/click", {})

    def type(self, element: str, keys: str) -> None:
        """Type `keys` into an element."""
        self._call("POST", f"/element/{element}/value", {"text": keys})

    def clear(self, element: str) -> None:
        """Empty an input the way a user does (select all, delete), so React sees the change."""
        self.type(element, "\ue009a\ue009\ue017")

    def text(self) -> str:
        """Return the page's visible text."""
        return str(self.execute("return document.body.innerText"))

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the viewport to `path`."""
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))
        return path

    def wait(self, condition: Callable[[], T | None], what: str, timeout_s: float = 20.0) -> T:
        """Poll `condition` until it returns something truthy; fail naming `what` after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except WebDriverError as error:  # e.g. a stale element while Streamlit re-renders
                last_error = error
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what} (last error: {last_error})")

    def wait_for(self, selector: str, what: str, *, xpath: bool = False, timeout_s: float = 20.0) -> str:
        """Wait for the first element matching a selector and return its id."""
        return self.wait(lambda: (self.find_all(selector, xpath=xpath) or [None])[0], what, timeout_s)

    def wait_for_text(self, text: str, timeout_s: float = 20.0) -> None:
        """Wait until `text` is visible on the page."""
        self.wait(lambda: text in self.text(), repr(text), timeout_s)


@contextmanager
def chromium_session(chromium: str, chromedriver: str, *, width: int = 1400, height: int = 1000) -> Iterator[Browser]:
    """Start chromedriver and a headless Chromium session; stop both afterwards."""
    port = free_port()
    driver = subprocess.Popen([chromedriver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/status", timeout=2) as response:
                    if json.loads(response.read())["value"].get("ready"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        options = {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1",
            ],
        }  # fmt: skip
        request = urllib.request.Request(
            f"{base}/session",
            data=json.dumps({"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            session = json.loads(response.read())["value"]["sessionId"]
        browser = Browser(base, session)
        try:
            yield browser
        finally:
            with suppress(OSError):
                urllib.request.urlopen(
                    urllib.request.Request(f"{base}/session/{session}", method="DELETE"), timeout=20
                ).close()
    finally:
        driver.terminate()
        try:
            driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver.kill()
