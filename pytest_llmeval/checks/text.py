"""Text checks: what the output must (or must not) say."""

from __future__ import annotations

import functools
import re
import unicodedata

import regex

from .evidence import shorten
from .result import CheckInputError, CheckResult, string_argument, text_of

# How long ``matches`` may search: a pattern that backtracks catastrophically ("^(\\w+\\s?)*$" on a
# long line that ends in "!") would otherwise hold the whole run for minutes.
MATCH_TIMEOUT_S = 1.0
# How much of the output a failed text check's reason quotes.
_REASON_CHARS = 200


def normalize(text: str, *, case: bool = False) -> str:
    """NFKC, collapsed whitespace, and (unless ``case``) casefolded: how people compare answers."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text if case else text.casefold()


@functools.lru_cache(maxsize=8192)
def english_zipf(word: str) -> float:
    """How common ``word`` is in English, on wordfreq's scale ("the" 7.7, "janet" 4.0, 0.0 for a
    non-word); wordfreq is imported on first use, not with the checks."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def word_set(words: str) -> frozenset[str]:
    """The words of a whitespace-separated list, for word lists written as one string."""
    return frozenset(words.split())


# suite.py still imports this name; evidence.shorten is the one to use.


def _needles(needles: tuple[str, ...], check: str) -> tuple[str, ...]:
    if not needles:
        raise ValueError(f"{check}() needs at least one string to look for")
    needles = tuple(string_argument(n, check, "each needle") for n in needles)
    for needle in needles:
        if not normalize(needle, case=True).strip():  # found in every text: the check could not fail
            raise CheckInputError(f"{check}: an empty or blank needle ({needle!r}) is in every text")
    return needles


def contains(output: str, *needles: str, any_of: bool = False, case: bool = False) -> CheckResult:
    """The output contains every needle (or, with ``any_of``, at least one), after normalisation."""
    output = text_of(output, "contains")
    needles = _needles(needles, "contains")
    haystack = normalize(output, case=case)
    found = [n for n in needles if normalize(n, case=case) in haystack]
    missing = [n for n in needles if n not in found]
    passed = bool(found) if any_of else not missing
    if passed:
        return CheckResult.of("contains", True, f"found {found!r}", tuple(found))
    wanted = f"any of {list(needles)!r}" if any_of else f"{missing!r}"
    return CheckResult.of("contains", False, f"missing {wanted} in {shorten(output, _REASON_CHARS)!r}")


def not_contains(output: str, *needles: str, case: bool = False) -> CheckResult:
    """None of the needles appears in the output, after normalisation."""
    output = text_of(output, "not_contains")
    needles = _needles(needles, "not_contains")
    haystack = normalize(output, case=case)
    found = [n for n in needles if normalize(n, case=case) in haystack]
    if found:
        return CheckResult.of(
            "not_contains", False, f"found {found!r} in {shorten(output, _REASON_CHARS)!r}", tuple(found)
        )
    return CheckResult.of("not_contains", True, f"none of {list(needles)!r}")


def equals(output: str, expected: str, *, case: bool = False) -> CheckResult:
    """The output equals ``expected`` after normalisation (whitespace, Unicode form, case)."""
    output = text_of(output, "equals")
    expected = string_argument(expected, "equals", "expected")
    if normalize(output, case=case) == normalize(expected, case=case):
        return CheckResult.of("equals", True, f"equals {expected!r}")
    return CheckResult.of("equals", False, f"expected {expected!r}, got {shorten(output, _REASON_CHARS)!r}")


# Python's re flags as the regex package numbers them: re.ASCII (256) is regex's V1 mode, and
# regex.ASCII is 128, so passing re's numbers through ignored ASCII.
_REGEX_FLAGS = {
    re.IGNORECASE: regex.IGNORECASE,
    re.LOCALE: regex.LOCALE,
    re.MULTILINE: regex.MULTILINE,
    re.DOTALL: regex.DOTALL,
    re.UNICODE: regex.UNICODE,
    re.VERBOSE: regex.VERBOSE,
    re.ASCII: regex.ASCII,
}


def _regex_flags(flags: int) -> int:
    unknown = flags & ~sum(_REGEX_FLAGS)
    if unknown:
        raise CheckInputError(
            f"matches: flags {unknown} are not re.IGNORECASE, MULTILINE, DOTALL, VERBOSE, ASCII..."
        )
    return sum(value for flag, value in _REGEX_FLAGS.items() if flags & flag)


def matches(output: str, pattern: str | re.Pattern[str], *, flags: int = 0) -> CheckResult:
    """The regular expression ``pattern`` matches somewhere in the output.

    The search runs on the ``regex`` package (Python's own syntax) with a time limit of
    ``MATCH_TIMEOUT_S``: a pattern that would backtrack for minutes fails the check instead.
    """
    output = text_of(output, "matches")
    if isinstance(pattern, re.Pattern):
        flags |= pattern.flags
        pattern = pattern.pattern
    pattern = string_argument(pattern, "matches", "pattern")
    try:
        match = regex.search(pattern, output, _regex_flags(flags), timeout=MATCH_TIMEOUT_S)
    except regex.error as exc:
        raise CheckInputError(f"matches: /{pattern}/ is not a valid regular expression: {exc}") from None
    except TimeoutError:
        reason = (
            f"/{pattern}/ gave up after {MATCH_TIMEOUT_S:g} s on {len(output)} characters: the pattern "
            "backtracks too much (nested repeats such as (\\w+\\s?)*); make it possessive or simpler"
        )
        return CheckResult.of("matches", False, reason)
    if match:
        return CheckResult.of("matches", True, f"/{pattern}/ matched {match.group(0)!r}", (match.group(0),))
    return CheckResult.of("matches", False, f"/{pattern}/ does not match {shorten(output, _REASON_CHARS)!r}")
