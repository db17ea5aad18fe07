"""A GitHub-flavoured Markdown summary of a run, sized for ``$GITHUB_STEP_SUMMARY``.

Case ids, reasons and gate lines can hold any text (they come from datasets and model output),
so every character that could start markup is backslash-escaped (CommonMark allows that for any
ASCII punctuation): a ``|`` cannot split a table cell, nor a ``<script>`` become HTML.
"""

from __future__ import annotations

import math
import re

from ..baselines.stats import Comparison
from .model import CaseReport, RunReport, SuiteReport

# GitHub caps a step summary at 1 MiB; a suite that flipped thousands of cases must not hit it.
MAX_FLIPS_SHOWN = 50
MAX_REASON = 120

# What can start markup inside a line: emphasis, code, links, HTML, cell breaks, entities,
# mentions and GitHub's $math$. At the start of a list item's text, also a heading, a list or a
# rule ("- # id" once rendered the id as a heading, losing its "#").
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&@$])")
_LINE_START = re.compile(r"^(?:([#+\-=])|(\d+)([.)]))")


def render_markdown(report: RunReport) -> str:
    lines = [f"## pytest-llmeval: {_headline(report)}", ""]
    lines += _table(report)
    problems = [f"{suite.name}: {p}" for suite in report.suites for p in suite.problems()]
    if problems:
        lines += ["", "**Why the run failed**", ""] + [f"- {md_item(p)}" for p in problems]
    flipped = [suite for suite in report.suites if suite.flipped_ids()]
    if flipped:
        lines += ["", "### Flipped pass → fail"]
        for suite in flipped:
            lines += ["", *_flips(suite)]
    meta = [f"created {report.created}"]
    if report.git_commit:
        meta.append(f"commit {report.git_commit[:12]}")
    lines += ["", md(", ".join(meta))]
    return "\n".join(lines) + "\n"


def md(text: str) -> str:
    """``text`` as literal Markdown inline text on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_item(text: str) -> str:
    """``text`` as a list item's literal text, which starts a line: "# id" is no heading there."""
    return _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", md(text))


def _headline(report: RunReport) -> str:
    count = f"{len(report.suites)} suite{'s' if len(report.suites) != 1 else ''}"
    return f"{count}, run {'FAILED' if report.failed else 'passed'}"


def _table(report: RunReport) -> list[str]:
    lines = ["| suite | cases | pass rate | verdict | Δ | p |", "|---|---:|---:|---|---:|---:|"]
    for suite in report.suites:
        low, high = suite.pass_rate_interval
        rate = f"{suite.pass_rate:.3f} [{low:.3f}, {high:.3f}]"
        main = suite.main_comparison()
        delta, p = (_delta(main), _p(main.p_adjusted)) if main is not None else ("not compared", "")
        if suite.not_compared is not None:
            delta = f"not compared: {suite.not_compared}"
        verdict: str = suite.verdict
        if verdict in ("REGRESSED", "FAILED", "NOT COMPARED"):
            verdict = f"**{verdict}**"
        cells = [md(suite.name), str(suite.total), md(rate), verdict, md(delta), md(p)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _delta(comparison: Comparison) -> str:
    low, high = comparison.interval
    if math.isnan(comparison.delta):
        return "n/a"
    if comparison.in_points:
        return f"{100 * comparison.delta:+.1f}pt [{100 * low:.1f}, {100 * high:.1f}]"
    return f"{comparison.delta:+.3f} [{low:.3f}, {high:.3f}]"


def _p(p: float) -> str:
    return f"{p:.4f}" if p >= 0.0001 else "<0.0001"


def _flips(suite: SuiteReport) -> list[str]:
    by_id = {case.id: case for case in suite.cases}
    ids = sorted(suite.flipped_ids())
    lines = [f"**{md(suite.name)}** ({len(ids)})", ""]
    lines += [_flip_line(case_id, by_id.get(case_id)) for case_id in ids[:MAX_FLIPS_SHOWN]]
    if len(ids) > MAX_FLIPS_SHOWN:
        lines.append(f"- … and {len(ids) - MAX_FLIPS_SHOWN} more (see the HTML report)")
    return lines


def _flip_line(case_id: str, case: CaseReport | None) -> str:
    line = f"- {md_item(case_id)}"
    if case is not None and case.critical:
        line += " **critical**"
    failed = case.failed_checks() if case is not None else []
    if case is not None and case.error:
        line += ": raised an error"
    elif failed:
        reason = f"{failed[0].name}: {failed[0].reason}"
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 1] + "…"
        line += f": {md(reason)}"
    return line
