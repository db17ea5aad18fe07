"""shorten: every check cuts its evidence the same way, at EVIDENCE_CHARS with "..."."""

from __future__ import annotations

from pytest_llmeval.checks.evidence import EVIDENCE_CHARS, shorten
from pytest_llmeval.checks.result import CheckResult


def test_shorten_keeps_short_text_and_cuts_long_text_to_the_limit() -> None:
    assert shorten("a" * EVIDENCE_CHARS) == "a" * EVIDENCE_CHARS
    assert shorten("a" * (EVIDENCE_CHARS + 1)) == "a" * (EVIDENCE_CHARS - 3) + "..."
    assert shorten("abcdef", 5) == "ab..."


def test_a_failure_line_shows_long_evidence_shortened() -> None:
    result = CheckResult.of("x", False, "why", ("b" * 100,))
    assert result.line() == f"x: why [evidence: {'b' * 77 + '...'!r}]"
