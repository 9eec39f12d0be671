"""report.html in a real headless Chromium (Debian's /usr/bin/chromium; `make browser` installs it): no console
error, no request beyond the file itself, one circle per tracked example, and hovering a point shows its text.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ending in NUL
on file descriptors 3 and 4), so the test needs no driver package. Skipped where the browser is absent.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from test_report import MAP_RUN, TRICKY, make_sweep

from loradyn.report.study1.page import write_report

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser installs it)")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


def _above_9(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Chromium:
    """A headless Chromium with a fresh profile, one page, and a blocking DevTools call."""

    def __init__(self, profile: Path, timeout: float = 30.0) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # the browser reads commands on fd 3 and writes replies on fd 4; its ends move above 9 first, so that the
        # redirections cannot overwrite one with the other (bash, as dash takes single-digit descriptors only)
        to_browser, from_browser = _above_9(to_browser), _above_9(from_browser)
        self.process = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}',
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_browser, from_browser),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self.timeout, self.events, self._buffer, self._id, self.session = timeout, [], b"", 0, None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._next()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def _next(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            if not select.select([self._read], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError("no reply from Chromium")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._write)
        os.close(self._read)


def console_errors(browser: Chromium) -> list[dict]:
    """Uncaught exceptions, console.error calls and error log entries so far."""
    return [
        e
        for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = make_sweep(tmp_path_factory.mktemp("sweep"))
    result = write_report(root, n_resamples=200, workers=1, command="loradyn report SWEEP", map_run_name=MAP_RUN)
    browser = Chromium(tmp_path_factory.mktemp("profile"))
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable")
        browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        browser.call("Page.navigate", url=(root / "report.html").as_uri())
        browser.wait_for("Page.loadEventFired")
        yield browser, root, result
    finally:
        browser.close()


def test_the_page_loads_without_errors_or_network(page):
    browser, _, _ = page
    assert browser.evaluate("document.title").startswith("loradyn report")
    assert browser.evaluate("document.images.length") == 6 and browser.evaluate(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    assert console_errors(browser) == []
    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert requests and all(url.startswith(("file:", "data:")) for url in requests), requests


def test_the_data_map_draws_one_circle_per_tracked_example(page):
    browser, root, result = page
    tracked = pd.read_parquet(root / result["map_run"] / "metrics.parquet")
    assert browser.evaluate("document.querySelectorAll('#datamap circle').length") == len(tracked) == 120
    visible = browser.evaluate(
        "Array.from(document.querySelectorAll('#datamap circle')).filter(c => c.getBBox().width > 0).length"
    )
    assert visible == len(tracked)


def test_hovering_a_point_shows_its_text(page):
    browser, _, _ = page
    assert browser.evaluate("document.getElementById('datamap-tip').hidden") is True
    for index in (0, 57):
        browser.evaluate(f"document.querySelectorAll('#datamap circle')[{index}].scrollIntoView({{block: 'center'}})")
        x, y = browser.evaluate(
            f"(() => {{ const r = document.querySelectorAll('#datamap circle')[{index}].getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        top = browser.evaluate(f"document.elementFromPoint({x}, {y}).getAttribute('data-i')")  # may overlap
        browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        tip = browser.evaluate("document.getElementById('datamap-tip').innerText")
        assert browser.evaluate("document.getElementById('datamap-tip').hidden") is False
        columns = json.loads(browser.evaluate("document.getElementById('datamap-data').textContent"))
        item, premise = columns["id"][int(top)], columns["premise"][int(top)]
        assert f"id: {item}" in tip and f"premise: {premise}" in tip and TRICKY in tip
        assert "hypothesis: a plain hypothesis" in tip and "nats (" in tip
        browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=5, y=5)
        assert browser.evaluate("document.getElementById('datamap-tip').hidden") is True
    assert browser.evaluate("typeof window.pwned") == "undefined"  # the text stayed text
    assert console_errors(browser) == []
