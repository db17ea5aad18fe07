"""The HTML report in a real browser: headless Chromium driven over the DevTools protocol.

Chromium talks CDP over a pipe (``--remote-debugging-pipe``: commands on fd 3, replies on fd 4,
NUL-separated JSON), so the test needs no websocket client and no free port. It checks that the
page runs without a console error, that the case filters work from the URL hash and from real
mouse clicks and typing, that an XSS payload in a model output stays text and runs nothing, and
it takes a screenshot (kept in the test's tmp folder, for a human to look at).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.report import HistoryRecord, RunReport, append_history, read_history, render_html

from .factory import XSS_ID, XSS_OUTPUT, make_run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]
TIMEOUT = 30.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium"
)


class CDPError(RuntimeError):
    pass


class Browser:
    """One Chromium process and one page, attached with a flat session."""

    def __init__(self, profile: Path, log: Path) -> None:
        to_chrome, self._writer = os.pipe()
        self._reader, from_chrome = os.pipe()

        def wire() -> None:  # in the child: the pipe ends must be fds 3 (its input) and 4 (its output)
            read_end = fcntl.fcntl(to_chrome, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_chrome, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            preexec_fn=wire,
            pass_fds=(3, 4),
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""
        target = self.call("Target.createTarget", url="about:blank", session=False)["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True, session=False)
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride", width=1280, height=1000, deviceScaleFactor=1, mobile=False
        )

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False)
            self.process.wait(timeout=10)
        except (CDPError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            os.close(self._writer)
            os.close(self._reader)
            self._log.close()

    # ----- the protocol -----

    def call(self, method: str, *, session: bool = True, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(TIMEOUT)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def wait_for(self, method: str, since: int) -> dict[str, Any]:
        """The first event called ``method`` from the ``since``-th event on."""
        deadline = time.monotonic() + TIMEOUT
        seen = since
        while True:
            for event in self.events[seen:]:
                if event["method"] == method:
                    return event
            seen = len(self.events)
            self._receive(deadline - time.monotonic())

    def _receive(self, timeout: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._reader], [], [], max(0.0, timeout))
            if not ready:
                raise CDPError(f"no reply from chromium within {TIMEOUT} s")
            chunk = os.read(self._reader, 1 << 16)
            if not chunk:
                raise CDPError("chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        if "method" in message:
            self.events.append(message)
            if message["method"] == "Page.javascriptDialogOpening":  # an alert() ran: record, unblock
                self.call("Page.handleJavaScriptDialog", accept=False)
        return message

    # ----- page helpers -----

    def open(self, url: str) -> None:
        """Load ``url`` as a new document: from the same page, a new hash alone would not reload."""
        for address in ("about:blank", url):
            since = len(self.events)  # the load event may come before navigate's own reply
            self.call("Page.navigate", url=address)
            self.wait_for("Page.loadEventFired", since)

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression``; a Promise is awaited."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise CDPError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element, as a user makes it."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type(self, selector: str, text: str) -> None:
        self.click(selector)
        self.call("Input.insertText", text=text)

    def visible_ids(self) -> list[str]:
        return list(
            self.evaluate(
                "[...document.querySelectorAll('details.case')].filter(r => !r.hidden)"
                ".map(r => r.querySelector('.id').textContent)"
            )
        )

    def errors(self) -> list[dict[str, Any]]:
        """Uncaught exceptions, console.error calls and error log entries (CSP refusals among them)."""
        return [
            event
            for event in self.events
            if event["method"] == "Runtime.exceptionThrown"
            or (
                event["method"] == "Runtime.consoleAPICalled"
                and event["params"]["type"] in ("error", "assert")
            )
            or (event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error")
        ]

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Browser, RunReport, Path]]:
    folder = tmp_path_factory.mktemp("browser")
    report = make_run(folder).report
    html = folder / "report.html"
    html.write_text(render_html(report, earlier_runs(report, folder / "history.jsonl")), encoding="utf-8")
    browser = Browser(folder / "profile", folder / "chromium.log")
    try:
        yield browser, report, html
    finally:
        browser.close()


def earlier_runs(report: RunReport, path: Path) -> list[HistoryRecord]:
    """Four runs of history, the last one this run, so the page draws its trend lines."""
    for day, rate in enumerate([0.91, 0.94, 0.89], start=1):
        suites = tuple(s.model_copy(update={"pass_rate": rate}) for s in report.suites)
        append_history(path, report.model_copy(update={"created": f"2025-01-0{day}", "suites": suites}))
    append_history(path, report)
    return read_history(path)


def failed_ids(report: RunReport, *, critical: bool = False) -> set[str]:
    return {c.id for s in report.suites for c in s.cases if not c.passed and (c.critical or not critical)}


def test_page_loads_without_console_errors_and_takes_a_screenshot(
    page: tuple[Browser, RunReport, Path],
) -> None:
    browser, report, html = page
    browser.open(html.as_uri())
    count = sum(len(s.cases) for s in report.suites)
    assert (
        browser.evaluate("document.getElementById('shown').textContent") == f"{count} of {count} cases shown"
    )
    assert browser.evaluate("document.querySelectorAll('svg.trend polyline').length") == 3
    browser.evaluate("document.querySelector('details.case:nth-child(2)').open = true")
    shot = html.with_name("report.png")
    browser.screenshot(shot)
    assert_real_png(shot)
    assert browser.errors() == [], browser.errors()


def test_filter_from_the_url_hash(page: tuple[Browser, RunReport, Path]) -> None:
    browser, report, html = page
    browser.open(html.as_uri() + "#filter=failed")
    assert browser.evaluate("document.getElementById('filter-failed').checked") is True
    assert set(browser.visible_ids()) == failed_ids(report)
    flipped = {i for s in report.suites for i in s.flipped_ids()}
    # Resolves after the page's own hashchange handler (added first, so it runs first).
    browser.evaluate(
        "new Promise(done => { addEventListener('hashchange', () => setTimeout(done), {once: true});"
        " location.hash = 'filter=flipped&tag=' + encodeURIComponent('x&y'); })"
    )
    assert browser.visible_ids() == [XSS_ID] and XSS_ID in flipped
    browser.open(html.as_uri() + "#suite=math_exact&filter=failed")
    assert browser.visible_ids() == ["sum-2"]
    assert browser.evaluate("document.getElementById('filter-suite').value") == "math_exact"
    assert browser.errors() == [], browser.errors()


def test_filters_follow_clicks_and_typing(page: tuple[Browser, RunReport, Path]) -> None:
    browser, report, html = page
    browser.open(html.as_uri() + "#filter=failed")
    browser.click("#filter-critical")
    assert set(browser.visible_ids()) == failed_ids(report, critical=True) == {"refund-policy"}
    # The view can be linked: the hash now says what is shown.
    assert browser.evaluate("location.hash") == "#filter=failed,critical"
    browser.click("#filter-critical")
    browser.click("#filter-failed")
    browser.type("#filter-q", "CAPITAL WAS BONN")  # the search reads outputs too, in any case
    assert browser.visible_ids() == ["capital-de"]
    assert browser.evaluate("document.getElementById('shown').textContent").startswith("1 of ")
    browser.click("#expand")
    assert browser.evaluate("[...document.querySelectorAll('details.case[open]')].length") == 1
    assert browser.errors() == [], browser.errors()


def test_model_output_is_shown_as_text_and_runs_nothing(page: tuple[Browser, RunReport, Path]) -> None:
    browser, _, html = page
    browser.open(html.as_uri() + "#q=xss")
    title = browser.evaluate("document.title")
    row = "[...document.querySelectorAll('details.case')].find(r => !r.hidden)"
    browser.evaluate(f"{row}.open = true")
    time.sleep(0.3)  # an onerror handler would run once the broken image failed to load
    assert browser.evaluate("typeof window.__pwned") == "undefined"
    assert browser.evaluate("document.title") == title == "pytest-llmeval report: FAILED"
    assert not [e for e in browser.events if e["method"] == "Page.javascriptDialogOpening"]
    # Nothing from the payload became an element: no image, no extra script, no <b>.
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert browser.evaluate("document.scripts.length") == 2
    assert browser.evaluate(f"{row}.querySelector('.id').textContent") == XSS_ID
    assert browser.evaluate(f"{row}.querySelectorAll('b').length") == 1  # the check's own name
    shown = browser.evaluate(f"{row}.querySelector('pre.output').textContent")
    assert shown == XSS_OUTPUT
    assert "<script>alert(1)</script>" in shown and "<img src=x onerror=alert(1)>" in shown
    marks = browser.evaluate(f"[...{row}.querySelectorAll('pre.output mark')].map(m => m.textContent)")
    assert set(marks) == {"<script>", "onerror"}
    browser.screenshot(html.with_name("xss.png"))
    assert browser.errors() == [], browser.errors()


def assert_real_png(path: Path) -> None:
    """A PNG with a plausible size whose pixels are not all one colour."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1000 and height >= 800, (width, height)
    pixels, position = b"", 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            pixels += data[position + 8 : position + 8 + length]
        position += 12 + length
    assert len(set(zlib.decompress(pixels))) > 16, "the screenshot is blank"
