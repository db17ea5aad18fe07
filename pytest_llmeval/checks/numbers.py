"""Numeric answers: find the final number in an output and compare it with a tolerance."""

from __future__ import annotations

import math
import numbers
import re

from .result import CheckInputError, CheckResult, text_of

# lm-evaluation-harness's gsm8k "flexible-extract": the last number, allowing $ and separators.
_NUMBER = re.compile(r"-?[$0-9.,]{2,}|-?[0-9]+")


def clean_number(text: str) -> str:
    """``"$1,234."`` -> ``"1234"``: currency signs, thousands separators and a final period go."""
    return text.replace("$", "").replace(",", "").rstrip(".")


def final_number(text: str) -> float | None:
    """The last number written in ``text``, or None when there is none."""
    for candidate in reversed(_NUMBER.findall(text)):
        try:
            return float(clean_number(candidate))
        except ValueError:
            continue  # "..." or "$." matched the pattern but is no number
    return None


def number(output: str, expected: float | str, *, tolerance: float = 0.0) -> CheckResult:
    """The output's final number equals ``expected`` within an absolute ``tolerance``."""
    output = text_of(output, "number")
    want = _expected_number(expected)
    got = final_number(output)
    if got is None:
        return CheckResult.of("number", False, f"no number in {output[-120:]!r}; expected {want:g}")
    if math.isclose(got, want, rel_tol=0.0, abs_tol=tolerance):
        return CheckResult.of("number", True, f"final number {got:g} equals {want:g}", (f"{got:g}",))
    return CheckResult.of("number", False, f"final number {got:g}, expected {want:g}", (f"{got:g}",))


def _expected_number(expected: object) -> float:
    if isinstance(expected, str):
        try:
            return float(clean_number(expected))
        except ValueError:
            raise CheckInputError(f"number: expected {expected!r} is not a number") from None
    if isinstance(expected, bool) or not isinstance(expected, numbers.Real):
        raise CheckInputError(f"number: expected must be a number or a numeric string, got {expected!r:.60}")
    try:
        return float(expected)
    except OverflowError:
        message = f"number: expected {expected!r:.40} is too large to compare as a float"
        raise CheckInputError(message) from None
