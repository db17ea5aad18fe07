"""Text checks given hostile input: a pattern that backtracks forever, and arguments of the wrong type."""

from __future__ import annotations

import re
import time

import pytest

from pytest_llmeval.checks import CheckInputError, contains, equals, matches, not_contains, number
from pytest_llmeval.checks.text import MATCH_TIMEOUT_S


def test_the_pattern_from_issue_17_no_longer_hangs() -> None:
    # 18 words and a "!": Python's re tried every split of the words for over 20 s; the regex
    # package prunes this one and answers at once.
    started = time.perf_counter()
    assert not matches(" ".join(["word"] * 18) + "!", r"^(\w+\s?)*$").passed
    assert time.perf_counter() - started < MATCH_TIMEOUT_S


def test_a_catastrophic_pattern_fails_the_check_in_about_a_second() -> None:
    # (a|aa)+b on 60 a's: the regex package backtracks through the Fibonacci(60) ways to split them.
    started = time.perf_counter()
    result = matches("a" * 60, r"(a|aa)+b")
    elapsed = time.perf_counter() - started
    assert not result.passed and "gave up after 1 s on 60 characters" in result.reason
    assert elapsed < MATCH_TIMEOUT_S + 2.0, elapsed


def test_matches_keeps_re_semantics_for_ordinary_patterns() -> None:
    assert matches("The answer is 42.", r"\b\d+\b").evidence == ("42",)
    assert matches("HELLO", "hello", flags=re.IGNORECASE).passed
    assert matches("a\nb", re.compile(r"^b$", re.MULTILINE)).passed
    assert not matches("abc", r"^b").passed
    with pytest.raises(CheckInputError, match=r"matches: /\(/ is not a valid regular expression"):
        matches("abc", "(")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: contains("x", None), "contains: each needle must be a string, got NoneType"),
        (lambda: not_contains("x", "a", 3), "not_contains: each needle must be a string, got int"),
        (lambda: equals("x", None), "equals: expected must be a string, got NoneType"),
        (lambda: matches("x", None), "matches: pattern must be a string, got NoneType"),
        (lambda: number("x 3", None), "number: expected must be a number or a numeric string, got None"),
        (lambda: number("x 3", "three"), "number: expected 'three' is not a number"),
        (lambda: number("x 3", "nan"), "number: expected 'nan' is not a number"),
        (lambda: number("x 3", float("inf")), "number: expected must be finite"),
        (lambda: number("x 3", 1, tolerance=-1), "number: tolerance must be a finite number >= 0"),
    ],
)
def test_wrong_argument_types_name_the_check(call: object, message: str) -> None:
    with pytest.raises(CheckInputError) as raised:
        call()  # type: ignore[operator]
    assert str(raised.value).startswith(message)


def test_a_huge_number_in_the_output_is_compared_not_crashed_on() -> None:
    result = number("the answer is " + "9" * 400, 3)
    assert not result.passed and "expected 3" in result.reason
