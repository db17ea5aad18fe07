"""The Markdown step summary: one table row per suite, the flipped cases, and no markup from data."""

from __future__ import annotations

from pytest_llmeval.report import CaseReport, CheckReport, RunReport, SuiteReport, render_markdown
from pytest_llmeval.report.markdown import MAX_FLIPS_SHOWN, md

from .factory import CREATED, Run


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    # Split on the cell separators only: an escaped \| belongs to the cell.
    return [[cell.strip() for cell in row.replace("\\|", "\0").strip("|").split("|")] for row in rows]


def test_table_and_flips(run: Run) -> None:
    text = render_markdown(run.report)
    assert text.startswith("## pytest-llmeval: 2 suites, run FAILED\n")
    header, rule, support, math_row = table_rows(text)
    assert header == ["suite", "cases", "pass rate", "verdict", "Δ", "p"]
    assert rule == ["---", "---:", "---:", "---", "---:", "---:"]
    assert support == [
        "support\\_answers",
        "35",
        "0.657 \\[0.492, 0.792\\]",
        "**REGRESSED**",
        "-31.4pt \\[-48.4, -12.6\\]",
        "0.0017",
    ]
    assert math_row[:4] == ["math\\_exact", "4", "0.750 \\[0.301, 0.954\\]", "**NOT COMPARED**"]
    assert math_row[4].startswith("not compared: no baseline at ")
    assert "**Why the run failed**" in text
    assert "- support\\_answers: critical case(s) flipped pass-\\>fail: refund-policy" in text
    flips = text.split("### Flipped pass → fail", 1)[1]
    assert "**support\\_answers** (12)" in flips
    assert "- refund-policy **critical**: contains: missing" in flips
    assert "- server-down: raised an error" in flips
    assert "- faq-00: contains: missing \\['Settings'\\]" in flips
    assert text.rstrip().endswith("created 2025-01-02T03:04:05+00:00, commit 0123456789ab")


def test_untrusted_text_cannot_make_markup(run: Run) -> None:
    text = render_markdown(run.report)
    assert "- xss-\\<b\\>id\\</b\\>: not\\_contains" in text
    assert "<b>" not in text and "<script>" not in text.replace("\\<script\\>", "")
    for line in text.splitlines():
        assert len(line) < 400, "reasons are shortened"


def test_md_escapes_what_starts_markup() -> None:
    assert md("a|b") == "a\\|b"
    assert md("*x* _y_ `z` [l](u) <i> ~s~ &amp; @team $x$ \\") == (
        "\\*x\\* \\_y\\_ \\`z\\` \\[l\\](u) \\<i\\> \\~s\\~ \\&amp; \\@team \\$x\\$ \\\\"
    )
    assert md("two\nlines\r\n  here") == "two lines here"
    assert md("0.842 -> 0.815") == "0.842 -\\> 0.815"


def test_a_pipe_in_a_suite_name_keeps_the_table_whole() -> None:
    suite = SuiteReport(name="a|b", passed=1, total=1, pass_rate=1.0, pass_rate_interval=(0.2, 1.0))
    text = render_markdown(RunReport(created=CREATED, suites=(suite,)))
    assert text.startswith("## pytest-llmeval: 1 suite, run passed\n")
    (row,) = table_rows(text)[2:]
    assert len(row) == 6 and row[0] == "a\0b"
    assert "Flipped" not in text and "Why the run failed" not in text


def test_long_flip_lists_are_cut(run: Run) -> None:
    cases = tuple(
        CaseReport(
            id=f"c{i:03d}",
            passed=False,
            baseline_passed=True,
            checks=(CheckReport(name="contains", passed=False, reason="x" * 500),),
        )
        for i in range(MAX_FLIPS_SHOWN + 7)
    )
    suite = SuiteReport(
        name="big", passed=0, total=len(cases), pass_rate=0.0, pass_rate_interval=(0.0, 0.1), cases=cases
    )
    text = render_markdown(RunReport(created=CREATED, suites=(suite,)))
    assert text.count("\n- c") == MAX_FLIPS_SHOWN
    assert "- … and 7 more (see the HTML report)" in text
    assert ": contains: " + "x" * 109 + "…\n" in text  # 120 characters in all


def test_a_list_item_cannot_start_a_heading_or_a_list() -> None:
    """A case id "# x" or "1. x" after "- " once rendered as a heading or a nested list."""
    from pytest_llmeval.report.markdown import md_item

    assert [md_item(t) for t in ("# id", "+ id", "1. id", "12) id", "- id", "a # b")] == [
        "\\# id",
        "\\+ id",
        "1\\. id",
        "12\\) id",
        "\\- id",
        "a # b",
    ]
    assert md("1. in a cell") == "1. in a cell"  # not at a line's start: left as it is
