"""The HTML report of a real example run, opened in headless Chromium.

``examples/test_markup.py`` runs on SmolLM2, which really does echo ``<script>`` tags and
``onerror`` handlers it is shown: the report must show those outputs as text and run nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .report.test_html_browser import CHROMIUM, Browser, assert_real_png

EXAMPLES = Path(__file__).parent.parent / "examples"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def report(
    smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Browser, Path, str]]:
    folder = tmp_path_factory.mktemp("example-report")
    html = folder / "report.html"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(EXAMPLES / "test_markup.py"),
            "-p",
            "no:cacheprovider",
            f"--llmeval-model={smollm2_gguf}",
            f"--llmeval-report-html={html}",
            f"--llmeval-baselines={folder / 'baselines'}",
            f"--llmeval-history={folder / 'history.jsonl'}",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
        # Not under CI rules: this run records its first baseline in a fresh folder.
        env={k: v for k, v in os.environ.items() if k != "CI"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"llmeval: HTML report written to {html}" in run.stdout
    browser = Browser(folder / "profile", folder / "chromium.log")
    try:
        yield browser, html, run.stdout
    finally:
        browser.close()


def test_the_real_report_renders_filters_and_keeps_model_markup_as_text(
    report: tuple[Browser, Path, str],
) -> None:
    browser, html, _ = report
    browser.open(html.as_uri())
    assert browser.evaluate("document.getElementById('shown').textContent") == "5 of 5 cases shown"
    browser.click("#filter-failed")
    failed = browser.visible_ids()
    assert "repeat-html" in failed and "plain-question" not in failed

    # The model's own output for repeat-html holds a script tag and an onerror handler.
    browser.open(html.as_uri() + "#q=repeat-html")
    row = "[...document.querySelectorAll('details.case')].find(r => !r.hidden)"
    browser.evaluate(f"{row}.open = true")
    time.sleep(0.3)  # a broken image's onerror would have run by now
    shown = browser.evaluate(f"{row}.querySelector('pre.output').textContent")
    assert "<script>" in shown and "onerror=" in shown
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert browser.evaluate("document.scripts.length") == 2  # the page's data and its own script
    assert not [e for e in browser.events if e["method"] == "Page.javascriptDialogOpening"]
    shot = html.with_name("report.png")
    browser.screenshot(shot)
    assert_real_png(shot)
    assert browser.errors() == [], browser.errors()
