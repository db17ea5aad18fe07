"""One self-contained HTML file for a run: suite overview, trends, and every case, filterable.

Model outputs, prompts and case ids are untrusted text, so the page is built by escaping every
piece of data with :func:`html.escape` as it is placed; the script reads its few data from a
``<script type="application/json">`` block and only ever sets ``hidden``, ``open`` and
``textContent``. A Content-Security-Policy that allows no network and only this page's own
script (by hash) is the second line of defence: even a mistake in the escaping could not run
injected code or load anything.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from ..checks.evidence import LONE_SURROGATE
from .history import HistoryRecord
from .model import CaseReport, CheckReport, RunReport, SuiteReport

_VERDICT_CLASS = {
    "REGRESSED": "bad",
    "NOT COMPARED": "warn",
    "FAILED": "bad",
    "WARNING": "warn",
    "IMPROVED": "good",
    "OK": "ok",
}


def render_html(report: RunReport, history: Sequence[HistoryRecord] = ()) -> str:
    """The whole page. ``history`` is drawn as given: append this run first to see it plotted."""
    ordered = _ordered_cases(report)
    data = _json_for_script({"cases": [_filter_data(*row) for row in ordered]})
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src '{_script_hash(_SCRIPT)}'"
    title = f"pytest-llmeval report: {'FAILED' if report.failed else 'passed'}"
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{_attr(csp)}">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
            _header(report),
            "".join(_suite_section(index, suite, history) for index, suite in enumerate(report.suites)),
            _cases_section(report, ordered),
            f'<script type="application/json" id="llmeval-data">{data}</script>\n',
            f"<script>{_SCRIPT}</script>\n</body>\n</html>\n",
        ]
    )


# ----- escaping -----


def _esc(text: object) -> str:
    """Text content, escaped; lone surrogates as U+FFFD so the page can be written as UTF-8."""
    return html.escape(LONE_SURROGATE.sub("\ufffd", str(text)), quote=False)


def _attr(text: object) -> str:
    return html.escape(LONE_SURROGATE.sub("\ufffd", str(text)), quote=True)


def _json_for_script(value: Any) -> str:
    """JSON that cannot end its ``<script>`` block or open a comment in it: every ``<``, ``>``
    and ``&`` is written as a ``\\u`` escape, which JSON.parse reads back unchanged."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


# ----- header and suites -----


def _header(report: RunReport) -> str:
    verdict = "FAILED" if report.failed else "passed"
    meta = [f"created {report.created}", f"{len(report.suites)} suite(s)"]
    if report.git_commit:
        meta.append(f"commit {report.git_commit[:12]}")
    if not report.gated:
        meta.append("not compared with baselines")
    notes = "".join(f'<li class="note">{_esc(note)}</li>' for note in report.notes)
    return (
        f'<header><h1>pytest-llmeval report <span class="badge {"bad" if report.failed else "ok"}">'
        f"{verdict}</span></h1>"
        f'<p class="meta">{_esc(" · ".join(meta))}</p>'
        + (f'<ul class="lines">{notes}</ul>' if notes else "")
        + "</header>\n"
    )


def _suite_section(index: int, suite: SuiteReport, history: Sequence[HistoryRecord]) -> str:
    low, high = suite.pass_rate_interval
    minimum = suite.spec.get("min_pass_rate")
    bound = f" (min {minimum})" if minimum is not None else ""
    facts = (
        f"{suite.total} cases · {suite.passed} passed · pass rate {suite.pass_rate:.3f} "
        f"[{low:.3f}, {high:.3f}]{bound}"
    )
    return (
        f'<section class="suite" id="suite-{index}">'
        f"<h2>{_esc(suite.name)} {_badge(_VERDICT_CLASS[suite.verdict], suite.verdict)}</h2>"
        f'<p class="meta">{_esc(facts)}</p>'
        f"{_metrics_table(suite, history)}{_gate_lines(suite)}{_fingerprint(suite)}"
        "</section>\n"
    )


def _metrics_table(suite: SuiteReport, history: Sequence[HistoryRecord]) -> str:
    low, high = suite.pass_rate_interval
    rows: list[tuple[str, float, float | None, float | None]] = [("pass_rate", suite.pass_rate, low, high)]
    rows += [(m.name, m.value, m.low, m.high) for m in suite.metrics]
    trends = bool(history)
    head = "<tr><th>metric</th><th>value</th><th>95% interval</th>" + ("<th>trend</th>" if trends else "")
    body = []
    for name, value, lo, hi in rows:
        interval = f"[{_num(lo)}, {_num(hi)}]" if lo is not None and hi is not None else ""
        trend = f"<td>{_trend(name, _series(history, suite.name, name))}</td>" if trends else ""
        body.append(
            f'<tr><td>{_esc(name)}</td><td class="num">{_num(value)}</td>'
            f'<td class="num">{_esc(interval)}</td>{trend}</tr>'
        )
    # Metrics that could not be computed fail the run: they are listed with the suite's problems.
    return f'<table class="metrics"><thead>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _gate_lines(suite: SuiteReport) -> str:
    lines: list[tuple[str, str]] = []
    if suite.not_compared is not None:
        lines.append(("gate warn", f"NOT COMPARED: {suite.not_compared}"))
    for comparison in suite.comparisons:
        tone = "bad" if comparison.fails_run else "warn" if comparison.decision.value == "WARNING" else ""
        lines.append((f"gate {tone}", comparison.summary_line()))
        # The detail line repeats the suite's name, which heads this section already.
        lines.append(("gate detail", comparison.detail_line().split("  ", 1)[-1]))
    lines += [("bad", f"failed: {p}") for p in suite.problems()]
    lines += [("warn", f"warning: {w}") for w in suite.warnings]
    lines += [("note", f"note: {n}") for n in suite.notes]
    if not suite.comparisons:
        lines.append(("note", "not compared with a baseline in this run"))
    items = "".join(f'<li class="{kind}">{_esc(text)}</li>' for kind, text in lines)
    return f'<ul class="lines">{items}</ul>'


def _fingerprint(suite: SuiteReport) -> str:
    values = {k: v for k, v in suite.fingerprint.items() if k != "generation"}
    values.update({f"generation.{k}": v for k, v in suite.fingerprint.get("generation", {}).items()})
    items = "".join(
        f"<tr><td>{_esc(key)}</td><td>{_esc(json.dumps(value))}</td></tr>"
        for key, value in values.items()
        if value not in (None, "", [], {})
    )
    if not items:
        return ""
    return f'<details class="fingerprint"><summary>fingerprint</summary><table>{items}</table></details>'


def _badge(tone: str, text: str) -> str:
    return f'<span class="badge {tone}">{_esc(text)}</span>'


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value):
        return "n/a"
    return f"{value:.3f}" if math.isfinite(value) else ("∞" if value > 0 else "-∞")


# ----- trends -----

Point = tuple[str, float, str]  # (label, value, what changed since the previous run; "" if nothing)


def _series(history: Sequence[HistoryRecord], suite: str, metric: str) -> list[Point]:
    """The metric's value in each run that had the suite, with fingerprint changes noted, so a
    jump can be told apart: new model, or new data."""
    points: list[Point] = []
    previous: dict[str, Any] | None = None
    for record in history:
        entry = record.suites.get(suite)
        if entry is None:
            continue
        value = entry.pass_rate if metric == "pass_rate" else entry.metrics.get(metric)
        changed = ""
        if previous is not None and previous != entry.fingerprint:
            keys = sorted(
                k for k in {*previous, *entry.fingerprint} if previous.get(k) != entry.fingerprint.get(k)
            )
            changed = "fingerprint changed: " + ", ".join(keys)
        previous = entry.fingerprint
        if value is not None and math.isfinite(value):
            commit = f" {record.git_commit[:8]}" if record.git_commit else ""
            points.append((f"{record.time}{commit}", value, changed))
    return points


def _trend(metric: str, points: Sequence[Point]) -> str:
    if not points:
        return '<span class="muted">no history</span>'
    width, height, pad, plot_width = 240, 44, 5, 180
    values = [value for _, value, _ in points]
    low, high = min(values), max(values)
    if high - low < 1e-12:  # a flat line: centre it rather than divide by zero
        low, high = low - 0.5, high + 0.5
    step = (plot_width - 2 * pad) / max(1, len(points) - 1)

    def x(i: int) -> float:
        return pad + i * step if len(points) > 1 else plot_width / 2

    def y(v: float) -> float:
        return pad + (high - v) / (high - low) * (height - 2 * pad)

    coords = [(x(i), y(v)) for i, v in enumerate(values)]
    parts = [
        f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_attr(f"{metric} over {len(points)} runs")}">'
    ]
    parts += [
        f'<line class="change" x1="{cx - step / 2:.1f}" x2="{cx - step / 2:.1f}" y1="0" y2="{height}">'
        f"<title>{_esc(changed)}</title></line>"
        for (cx, _), (_, _, changed) in zip(coords, points, strict=True)
        if changed
    ]
    polyline = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
    parts.append(f'<polyline points="{polyline}"/>')
    parts += [
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5"><title>{_esc(f"{label}: {value:.4g}")}</title></circle>'
        for (cx, cy), (label, value, _) in zip(coords, points, strict=True)
    ]
    if max(values) > min(values):
        parts.append(f'<text x="{plot_width + 6}" y="12">{_esc(f"{max(values):.3g}")}</text>')
        parts.append(f'<text x="{plot_width + 6}" y="{height - 4}">{_esc(f"{min(values):.3g}")}</text>')
    else:
        parts.append(f'<text x="{plot_width + 6}" y="{height / 2 + 3}">{_esc(f"{values[0]:.3g}")}</text>')
    return "".join(parts) + "</svg>"


# ----- cases -----


Row = tuple[SuiteReport, CaseReport, bool]  # a case, its suite, and whether it flipped


def _ordered_cases(report: RunReport) -> list[Row]:
    """Suite by suite, the cases that need a look first: errors, flips, failures, then passes."""
    ordered: list[Row] = []
    for suite in report.suites:
        flipped = suite.flipped_ids()
        rows = [(suite, case, case.id in flipped) for case in suite.cases]
        ordered += sorted(rows, key=lambda row: (_rank(row), row[1].id))
    return ordered


def _rank(row: Row) -> int:
    _, case, flipped = row
    return 0 if case.error else 1 if flipped else 2 if not case.passed else 3


def _filter_data(suite: SuiteReport, case: CaseReport, flipped: bool) -> dict[str, Any]:
    return {
        "suite": suite.name,
        "tags": list(case.tags),
        "failed": not case.passed,
        "flipped": flipped,
        "critical": case.critical,
    }


def _cases_section(report: RunReport, ordered: Sequence[Row]) -> str:
    rows = "".join(_case(index, *row) for index, row in enumerate(ordered))
    return (
        f'<section class="cases"><h2>Cases</h2>{_filters(report, ordered)}'
        '<div class="case-head"><span>status</span><span>suite</span><span>case</span>'
        "<span>tags</span><span>first failed check</span></div>"
        f'<div id="case-list">{rows}</div></section>\n'
    )


def _filters(report: RunReport, ordered: Sequence[Row]) -> str:
    counts = {
        "failed": sum(not case.passed for _, case, _ in ordered),
        "flipped": sum(flipped for _, _, flipped in ordered),
        "critical": sum(case.critical for _, case, _ in ordered),
    }
    boxes = "".join(
        f'<label><input type="checkbox" name="{name}" id="filter-{name}"> {name} ({count})</label>'
        for name, count in counts.items()
    )
    suites = [suite.name for suite in report.suites]
    tags = sorted({tag for _, case, _ in ordered for tag in case.tags})
    return (
        f'<form id="filters" class="filters" autocomplete="off">{boxes}'
        + (_select("suite", "all suites", suites) if len(suites) > 1 else "")
        + (_select("tag", "all tags", tags) if tags else "")
        + '<input type="search" name="q" id="filter-q" placeholder="search ids, prompts, outputs">'
        + '<button type="button" id="expand">expand shown</button>'
        + '<button type="button" id="collapse">collapse all</button>'
        + f'<output id="shown">{len(ordered)} cases</output></form>'
    )


def _select(name: str, everything: str, values: Iterable[str]) -> str:
    options = "".join(f'<option value="{_attr(v)}">{_esc(v)}</option>' for v in values)
    return (
        f'<select name="{name}" id="filter-{name}"><option value="">{everything}</option>{options}</select>'
    )


def _case(index: int, suite: SuiteReport, case: CaseReport, flipped: bool) -> str:
    status = "ERROR" if case.error else "PASS" if case.passed else "FAIL"
    tone = "ok" if case.passed else "bad"
    badges = f'<span class="badge {tone}">{status}</span>'
    if flipped:
        badges += ' <span class="badge warn">flipped</span>'
    if case.critical:
        badges += ' <span class="badge crit">critical</span>'
    failed = case.failed_checks()
    first = f"{failed[0].name}: {failed[0].reason}" if failed else ""
    if case.error and not failed:
        first = "raised an error, not a check failure"
    return (
        f'<details class="case" data-i="{index}"><summary>'
        f'<span class="status">{badges}</span><span>{_esc(suite.name)}</span>'
        f'<span class="id">{_esc(case.id)}</span>'
        f'<span class="tags">{_esc(", ".join(case.tags))}</span>'
        f'<span class="reason">{_esc(first)}</span></summary>'
        f'<div class="body">{_case_body(case, failed)}</div></details>'
    )


def _case_body(case: CaseReport, failed: Sequence[CheckReport]) -> str:
    evidence = [e for check in failed for e in check.evidence]
    parts = []
    if case.prompt is not None:
        parts.append(_block("prompt", "prompt", _esc(case.prompt)))
    if case.expected is not None:
        parts.append(_block("expected", "expected", _esc(case.expected)))
    if case.output is not None:
        parts.append(_block("output", "output", highlight(case.output, evidence)))
    if len(case.samples) > 1:
        parts += [
            _block("sample", f"sample {n} of {len(case.samples)}", highlight(sample, evidence))
            for n, sample in enumerate(case.samples, start=1)
        ]
    parts.append(_checks(case.checks))
    parts.append(_numbers(case))
    parts.append(_baseline(case))
    return "".join(parts)


def _block(kind: str, label: str, content: str) -> str:
    # The newline after <pre> is the one an HTML parser drops, so a text's own first one stays.
    return f'<h4>{_esc(label)}</h4><pre class="text {kind}">\n{content}</pre>'


def highlight(text: str, evidence: Iterable[str]) -> str:
    """``text`` escaped, with every occurrence of each evidence string wrapped in ``<mark>``.

    Matching runs on the raw text and each piece is escaped on its own, so a mark can never
    split an entity, and overlapping evidence merges into one mark."""
    spans = []
    for needle in {e for e in evidence if e}:
        start = text.find(needle)
        while start != -1:
            spans.append((start, start + len(needle)))
            start = text.find(needle, start + len(needle))
    pieces, position = [], 0
    for start, end in _merge(sorted(spans)):
        pieces += [_esc(text[position:start]), "<mark>", _esc(text[start:end]), "</mark>"]
        position = end
    pieces.append(_esc(text[position:]))
    return "".join(pieces)


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _checks(checks: Sequence[CheckReport]) -> str:
    if not checks:
        return ""
    items = []
    for check in checks:
        evidence = "".join(f"<li><mark>{_esc(e)}</mark></li>" for e in check.evidence if not check.passed)
        tone = "ok" if check.passed else "bad"
        items.append(
            f'<li class="{tone}">{_badge(tone, "pass" if check.passed else "fail")} '
            f"<b>{_esc(check.name)}</b> {_esc(check.reason)}"
            + (f'<ul class="evidence">{evidence}</ul>' if evidence else "")
            + "</li>"
        )
    return f'<h4>checks</h4><ul class="checks">{"".join(items)}</ul>'


def _numbers(case: CaseReport) -> str:
    values = {**case.scores, **case.timing}
    if not values:
        return ""
    text = " · ".join(f"{name} {value:.4g}" for name, value in values.items())
    return f'<p class="meta">{_esc(text)}</p>'


def _baseline(case: CaseReport) -> str:
    if case.baseline_passed is None:
        return ""
    said = f"{'passed' if case.baseline_passed else 'failed'} in the baseline"
    if case.baseline_output is None or case.output is None:
        return f'<h4>baseline</h4><p class="meta">{said}; its output was not stored</p>'
    if case.baseline_output == case.output:
        return f'<h4>baseline</h4><p class="meta">{said}, with the same output</p>'
    diff = diff_html(case.baseline_output, case.output)
    return f'<h4>baseline</h4><p class="meta">{said}; its output → this run\'s:</p>{diff}'


def diff_html(before: str, after: str) -> str:
    """A line diff, baseline to this run, each line escaped."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "baseline", "this run", lineterm="", n=3
    )
    rendered = []
    for line in list(lines)[2:]:  # after the ---/+++ file header, which the heading says already
        kind = "hunk" if line.startswith("@@") else _DIFF_KINDS.get(line[:1], "ctx")
        rendered.append(f'<span class="{kind}">{_esc(line)}</span>')
    # Each line is a block, so no newline between them: it would show as an empty line.
    return f'<pre class="diff">{"".join(rendered)}</pre>'


_DIFF_KINDS = {"+": "add", "-": "del"}


# ----- style and script -----

_CSS = """
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --soft: #f6f8fa;
  --bad: #b42318; --bad-bg: #fdecea; --warn: #8a5a00; --warn-bg: #fff4d6;
  --good: #1a7f37; --good-bg: #e6f4ea; --mark: #ffe08a; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; color: var(--fg); background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 4px; }
h4 { font-size: 12px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.meta, .muted { color: var(--muted); margin: 0 0 8px; }
section.suite { border: 1px solid var(--line); border-radius: 6px; padding: 16px; margin: 16px 0; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 6px; border-radius: 10px;
  background: var(--soft); color: var(--muted); vertical-align: middle; }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.good, .badge.ok { background: var(--good-bg); color: var(--good); }
.badge.crit { background: var(--bad); color: #fff; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num { font-variant-numeric: tabular-nums; }
ul.lines { list-style: none; padding: 0; margin: 8px 0 0; }
ul.lines li { font: 12px/1.6 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  white-space: pre-wrap; }
ul.lines li.bad, li.gate.bad { color: var(--bad); } ul.lines li.warn, li.gate.warn { color: var(--warn); }
ul.lines li.note, li.gate.detail { color: var(--muted); }
li.gate.detail { padding-left: 2ch; }
svg.trend polyline { fill: none; stroke: #57606a; stroke-width: 1.5; }
svg.trend circle { fill: #57606a; } svg.trend circle:last-of-type { fill: var(--fg); }
svg.trend line.change { stroke: var(--warn); stroke-dasharray: 3 3; }
svg.trend text { font-size: 10px; fill: var(--muted); }
details.fingerprint { margin-top: 8px; color: var(--muted); font-size: 12px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 8px 0;
  position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); z-index: 1; }
.filters input[type=search] { flex: 1 1 220px; padding: 4px 8px; border: 1px solid var(--line);
  border-radius: 4px; }
.filters select, .filters button { padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px;
  background: var(--soft); }
.filters output { color: var(--muted); margin-left: auto; }
.case-head, details.case > summary { display: grid; gap: 12px;
  grid-template-columns: 170px 140px minmax(120px, 1fr) 120px 2fr; align-items: baseline; padding: 4px 8px; }
.case-head { font-size: 12px; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); }
details.case { border-bottom: 1px solid var(--line); }
details.case > summary { cursor: pointer; list-style: none; }
details.case > summary::-webkit-details-marker { display: none; }
details.case > summary .status::before { content: "\\25B8  "; color: var(--muted); }
details.case[open] > summary .status::before { content: "\\25BE  "; }
details.case > summary:hover, details.case[open] > summary { background: var(--soft); }
details.case > summary > span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.reason, .tags { color: var(--muted); }
.body { padding: 0 8px 12px 24px; }
pre { margin: 0; padding: 8px; background: var(--soft); border-radius: 4px; white-space: pre-wrap;
  overflow-wrap: anywhere; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
mark { background: var(--mark); color: inherit; border-radius: 2px; }
ul.checks { list-style: none; padding: 0; margin: 0; } ul.checks li { margin: 2px 0; overflow-wrap: anywhere }
ul.evidence { margin: 2px 0 4px; padding-left: 24px; font: 12px monospace; overflow-wrap: anywhere; }
pre.diff .add { color: var(--good); background: var(--good-bg); display: block; }
pre.diff .del { color: var(--bad); background: var(--bad-bg); display: block; }
pre.diff .hunk { color: var(--muted); display: block; }
pre.diff .ctx { display: block; }
"""

# The filters read and write the URL hash (#filter=failed,critical&tag=...&suite=...&q=...), so
# a filtered view can be linked. Only hidden, open and textContent are ever written.
_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("llmeval-data").textContent);
  var form = document.getElementById("filters");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("details.case"));
  var text = rows.map(function (row) { return row.textContent.toLowerCase(); });
  var flags = ["failed", "flipped", "critical"];

  function field(name) { return form.elements.namedItem(name); }

  function current() {
    var suite = field("suite"), tag = field("tag");
    return {
      flags: flags.filter(function (f) { return field(f).checked; }),
      suite: suite ? suite.value : "",
      tag: tag ? tag.value : "",
      q: field("q").value.trim().toLowerCase()
    };
  }

  function matches(item, index, s) {
    return s.flags.every(function (f) { return item[f]; }) &&
      (!s.suite || item.suite === s.suite) &&
      (!s.tag || item.tags.indexOf(s.tag) >= 0) &&
      (!s.q || text[index].indexOf(s.q) >= 0);
  }

  function apply() {
    var s = current(), count = 0;
    rows.forEach(function (row, index) {
      var visible = matches(data.cases[Number(row.dataset.i)], index, s);
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " cases shown";
    writeHash(s);
  }

  function choose(select, value) {
    if (!select) { return; }
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    select.value = known ? value : "";
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var on = (params.get("filter") || "").split(",");
    flags.forEach(function (f) { field(f).checked = on.indexOf(f) >= 0; });
    choose(field("suite"), params.get("suite") || "");
    choose(field("tag"), params.get("tag") || "");
    field("q").value = params.get("q") || "";
  }

  function writeHash(s) {
    var parts = [];
    if (s.flags.length) { parts.push("filter=" + s.flags.join(",")); }
    if (s.suite) { parts.push("suite=" + encodeURIComponent(s.suite)); }
    if (s.tag) { parts.push("tag=" + encodeURIComponent(s.tag)); }
    if (s.q) { parts.push("q=" + encodeURIComponent(s.q)); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash === location.hash) { return; }
    try {
      history.replaceState(null, "", hash || location.pathname + location.search);
    } catch (e) {
      // Some browsers refuse history changes on pages opened from disk; the filter still applies.
    }
  }

  function setOpen(open) {
    rows.forEach(function (row) { if (!open || !row.hidden) { row.open = open; } });
  }

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("expand").addEventListener("click", function () { setOpen(true); });
  document.getElementById("collapse").addEventListener("click", function () { setOpen(false); });
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  readHash();
  apply();
})();
"""
