"""The HTML page as text: self-contained, every piece of data escaped, and the parts a reader needs.

The browser test (test_html_browser.py) checks the same page in Chromium; these checks run
everywhere and pin down the markup the script and the reader rely on.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from html.parser import HTMLParser

from pytest_llmeval.report import (
    CaseReport,
    CheckReport,
    HistoryRecord,
    RunReport,
    SuiteReport,
    history_record,
    render_html,
)
from pytest_llmeval.report.html import diff_html, highlight

from .factory import CREATED, SUPPORT, XSS_ID, XSS_OUTPUT, Run


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def scripts(page: str) -> list[tuple[str, str]]:
    return re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)


def one_suite(*cases: CaseReport, name: str = "s") -> RunReport:
    suite = SuiteReport(
        name=name, passed=0, total=len(cases), pass_rate=0.0, pass_rate_interval=(0.0, 1.0), cases=cases
    )
    return RunReport(created=CREATED, suites=(suite,))


def test_the_page_is_self_contained(run: Run) -> None:
    page = render_html(run.report)
    elements = Elements(page)
    assert page.startswith("<!DOCTYPE html>")
    assert not [t for t, attrs in elements.tags if "src" in attrs or "href" in attrs]
    assert not elements.named("link") and not elements.named("img") and not elements.named("iframe")
    assert "url(" not in page and "@import" not in page
    assert re.search(r"(https?|ftp|file):|//[a-z0-9.-]+\.[a-z]{2,}/", page) is None


def test_the_content_security_policy_allows_only_the_pages_own_script(run: Run) -> None:
    page = render_html(run.report)
    (meta,) = [m for m in Elements(page).named("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    policy = meta["content"] or ""
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("script-src", 1)[1]
    (code,) = [body for attrs, body in scripts(page) if "type" not in attrs]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy


def test_every_piece_of_case_text_is_escaped(run: Run) -> None:
    page = render_html(run.report)
    assert len(scripts(page)) == 2  # the data block and the page's script, nothing from the payload
    assert "<script>alert(1)</script>" not in page and "<img" not in page and "<b>id" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert html.escape(XSS_ID, quote=False) in page
    assert "&lt;option" not in page and "x&amp;y" in page  # the tag, in its <option> too
    # The output is shown whole, with its evidence marked.
    # (After <pre>, the newline a browser drops: a text's own first newline then stays.)
    output = re.search(r'<pre class="text output">\n(.*?)</pre>', page.split(html.escape(XSS_ID))[1], re.S)
    assert output is not None
    assert html.unescape(re.sub(r"</?mark>", "", output.group(1))) == XSS_OUTPUT
    assert output.group(1).count("<mark>") == 4


def test_the_data_block_cannot_end_its_script(run: Run) -> None:
    hostile = CaseReport(id="</script><script>alert(1)//", passed=False, tags=("<!--", "</SCRIPT>", "&"))
    page = render_html(one_suite(hostile, name="</script>"))
    ((attrs, body), _) = scripts(page)
    assert 'type="application/json"' in attrs
    assert "<" not in body and ">" not in body and "&" not in body
    data = json.loads(body)
    assert data["cases"] == [
        {
            "suite": "</script>",
            "tags": ["<!--", "</SCRIPT>", "&"],
            "failed": True,
            "flipped": False,
            "critical": False,
        }
    ]


def test_filter_data_matches_the_cases(run: Run) -> None:
    page = render_html(run.report)
    data = json.loads(scripts(page)[0][1])["cases"]
    rows = Elements(page).named("details")
    cases = [a for a in rows if a.get("class") == "case"]
    assert len(cases) == len(data) == sum(len(s.cases) for s in run.report.suites)
    assert [c["data-i"] for c in cases] == [str(i) for i in range(len(data))]
    flipped = {i for s in run.report.suites for i in s.flipped_ids()}
    assert sum(d["flipped"] for d in data) == len(flipped) == 12
    assert sum(d["failed"] for d in data) == 13 and sum(d["critical"] for d in data) == 1
    for name, count in (("failed", 13), ("flipped", 12), ("critical", 1)):
        assert f'id="filter-{name}"> {name} ({count})</label>' in page
    # Cases that need a look come first: the error, then the flips.
    ids = re.findall(r'<span class="id">(.*?)</span>', page)
    assert ids[0] == "server-down" and set(ids[1:12]) == {html.escape(i) for i in flipped} - {"server-down"}


def test_suite_overview_shows_pass_rate_metrics_and_gate_lines(run: Run) -> None:
    page = render_html(run.report)
    support = run.report.suites[0]
    main = support.main_comparison()
    assert main is not None
    assert html.escape(main.summary_line(), quote=False) in page
    assert "smallest detectable drop 36.3pt" in page
    assert "35 cases · 23 passed · pass rate 0.657 [0.492, 0.792] (min 0.5)" in page
    assert '<span class="badge bad">REGRESSED</span>' in page
    assert '<span class="badge warn">NOT COMPARED</span>' in page and "NOT COMPARED: no baseline at" in page
    assert '<td>exact_match</td><td class="num">0.750</td><td class="num">[0.250, 1.000]</td>' in page
    assert "failed: 1 case(s) raised an error: server-down" in page
    assert "not compared with a baseline in this run" in page
    assert "<title>pytest-llmeval report: FAILED</title>" in page


def test_a_failed_check_marks_its_evidence_in_the_output(run: Run) -> None:
    page = render_html(run.report)
    assert "The capital was <mark>Bonn</mark>,\nthen Berlin.\n<mark>Bonn</mark> is nice." in page
    assert '<ul class="evidence"><li><mark>Bonn</mark></li></ul>' in page


def test_highlight() -> None:
    assert highlight("a<b> a<b>", ["<b>"]) == "a<mark>&lt;b&gt;</mark> a<mark>&lt;b&gt;</mark>"
    assert highlight("abcdef", ["bcd", "cde", ""]) == "a<mark>bcde</mark>f"  # overlaps merge
    assert highlight("aaaa", ["aa"]) == "<mark>aaaa</mark>"  # adjacent ones too
    assert highlight("x & y", ["&"]) == "x <mark>&amp;</mark> y"
    assert highlight("nothing", ["absent"]) == "nothing"


def test_diff_against_the_stored_baseline_output(run: Run) -> None:
    page = render_html(run.report)
    assert '<span class="del">-Berlin.</span><span class="add">+The capital was Bonn,</span>' in page
    assert "passed in the baseline, with the same output" in page  # server-down: same text, now raised
    diff = diff_html("<i>old</i>\nsame", "<i>new</i>\nsame")
    assert diff == (
        '<pre class="diff"><span class="hunk">@@ -1,2 +1,2 @@</span>'
        '<span class="del">-&lt;i&gt;old&lt;/i&gt;</span><span class="add">+&lt;i&gt;new&lt;/i&gt;</span>'
        '<span class="ctx"> same</span></pre>'
    )


def test_a_baseline_without_outputs_says_so() -> None:
    case = CaseReport(id="c", passed=False, output="now", baseline_passed=True)
    assert "passed in the baseline; its output was not stored" in render_html(one_suite(case))


def test_samples_and_numbers_are_shown() -> None:
    case = CaseReport(
        id="c",
        passed=False,
        output="one",
        samples=("one", "two <x>"),
        checks=(CheckReport(name="contains", passed=False, reason="missing", evidence=("two",)),),
        scores={"acc": 1.0},
        timing={"latency_s": 0.125},
    )
    page = render_html(one_suite(case))
    assert '<h4>sample 2 of 2</h4><pre class="text sample">\n<mark>two</mark> &lt;x&gt;</pre>' in page
    assert "acc 1 · latency_s 0.125" in page


def test_lone_surrogates_are_written_as_replacement_characters() -> None:
    case = CaseReport(id="c\udcff", passed=True, output="bad \ud800 byte")
    page = render_html(one_suite(case))
    page.encode("utf-8")
    assert "bad \ufffd byte" in page


def history(run: Run, rates: list[float], models: list[str]) -> list[HistoryRecord]:
    base = history_record(run.report)
    records = []
    for n, (rate, model) in enumerate(zip(rates, models, strict=True)):
        suite = base.suites[SUPPORT.name]
        changed = suite.model_copy(
            update={"pass_rate": rate, "fingerprint": {**suite.fingerprint, "model": model}}
        )
        suites = {**base.suites, SUPPORT.name: changed}
        records.append(base.model_copy(update={"time": f"2025-01-0{n + 1}", "suites": suites}))
    return records


def test_a_trend_per_suite_metric_over_the_history(run: Run) -> None:
    records = history(run, [0.9, 0.95, 0.7], ["<m1>", "<m1>", "m2"])
    page = render_html(run.report, records)
    svgs = re.findall(r'<svg class="trend".*?</svg>', page, flags=re.S)
    assert len(svgs) == 3  # support: pass_rate; math: pass_rate and exact_match
    support = svgs[0]
    assert 'aria-label="pass_rate over 3 runs"' in support
    assert len(re.findall(r"<circle ", support)) == 3
    (points,) = re.findall(r'<polyline points="([^"]*)"/>', support)
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert ys[1] < ys[0] < ys[2]  # higher is up
    assert "<title>2025-01-01 01234567: 0.9</title>" in support
    # The model changed before the third run: a marked line says so.
    assert support.count('<line class="change"') == 1 and "fingerprint changed: model" in support
    assert ">0.95</text>" in support and ">0.7</text>" in support


def test_no_history_no_trend_column(run: Run) -> None:
    page = render_html(run.report)
    assert "<th>trend</th>" not in page and "<svg" not in page


def test_a_metric_missing_from_the_history_says_so(run: Run) -> None:
    record = history_record(run.report)
    bare = record.model_copy(
        update={"suites": {k: v.model_copy(update={"metrics": {}}) for k, v in record.suites.items()}}
    )
    page = render_html(run.report, [bare])
    assert page.count('<span class="muted">no history</span>') == 1  # math's exact_match
