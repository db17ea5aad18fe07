"""Numeric answers: find the final number in an output and compare it with a tolerance.

Numbers are compared as exact decimals, not floats: a float holds 15-17 significant digits, so two
different 20-digit answers would compare equal, and a 310-digit one overflows.
"""

from __future__ import annotations

import decimal
import numbers
import re
from decimal import Decimal

from .result import CheckInputError, CheckResult, text_of

# lm-evaluation-harness's gsm8k "flexible-extract": the last number, allowing $ and separators.
_NUMBER = re.compile(r"-?[$0-9.,]{2,}|-?[0-9]+")
_SHOWN_DIGITS = 24  # a longer number is shown in scientific notation, with its digit count


def clean_number(text: str) -> str:
    """``"$1,234."`` -> ``"1234"``: currency signs, thousands separators and a final period go."""
    return text.replace("$", "").replace(",", "").rstrip(".")


# Around a number, what makes it part of something else: "1/2", "3/4" (a fraction), "1e3" (an exponent).
_FRACTION_OR_EXPONENT_BEFORE = re.compile(r"(?:\d[/eE]|\d[eE][-+])$")
_FRACTION_OR_EXPONENT_AFTER = re.compile(r"(?:/\d|[eE][-+]?\d)")


def read_final_number(text: str) -> tuple[Decimal | None, str]:
    """The last number written in ``text``, exactly, and why not when it cannot be read as one.

    lm-eval's pattern finds it; a Unicode minus (U+2212) is a minus, a "-" after a letter or digit
    is a dash ("10-15 minutes" ends on 15, not -15), and a number that is part of a fraction or an
    exponent ("1/2", "1e3") is no plain number: (None, why).
    """
    text = text.replace("\u2212", "-")
    for match in reversed(list(_NUMBER.finditer(text))):
        candidate, start = match.group(), match.start()
        if candidate.startswith("-") and start > 0 and text[start - 1].isalnum():
            candidate, start = candidate[1:], start + 1
        cleaned = clean_number(candidate)
        # The pattern allows only digits, "-", "." (and "$" "," removed above), so Decimal never
        # sees an exponent or "nan" here; "..." or "1.2.3" is no number.
        if cleaned.count(".") <= 1 and any(c.isdigit() for c in cleaned) and "-" not in cleaned[1:]:
            end = start + len(candidate.rstrip(".,"))
            if _FRACTION_OR_EXPONENT_BEFORE.search(text, 0, start) or _FRACTION_OR_EXPONENT_AFTER.match(
                text, end
            ):
                around = text[max(0, start - 8) : end + 8].strip()
                return None, f"the final number is part of a fraction or an exponent ({around!r})"
            return Decimal(cleaned), ""
    return None, "no number"


def final_decimal(text: str) -> Decimal | None:
    """The last number written in ``text``, exactly, or None when there is none (or it cannot be
    read as a plain number: :func:`read_final_number` says why)."""
    return read_final_number(text)[0]


def final_number(text: str) -> float | None:
    """The last number written in ``text`` as a float (inf past 1.8e308), or None when there is none.

    For comparing, use ``number()`` or ``final_decimal``: a float cannot tell long numbers apart.
    """
    value = final_decimal(text)
    return None if value is None else float(value)


def show_number(value: Decimal) -> str:
    """A number as a reason shows it: ``18``, ``0.25``, or ``9999999999...999999 (400 digits)``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    digits = sum(c.isdigit() for c in text)
    if digits <= _SHOWN_DIGITS:
        return text
    return f"{text[:12]}...{text[-8:]} ({digits} digits)"


def number(output: str, expected: float | str, *, tolerance: float = 0.0) -> CheckResult:
    """The output's final number equals ``expected`` within an absolute ``tolerance``."""
    output = text_of(output, "number")
    want = _expected_number(expected)
    allowed = _tolerance(tolerance)
    got, why = read_final_number(output)
    if got is None:
        reason = (
            f"no number in {output[-120:]!r}; expected {show_number(want)}"
            if why == "no number"
            else f"could not decide: {why}; expected {show_number(want)}"
        )
        return CheckResult.of("number", False, reason)
    shown = show_number(got)
    if _within(got, want, allowed):
        return CheckResult.of("number", True, f"final number {shown} equals {show_number(want)}", (shown,))
    reason = f"final number {shown}, expected {show_number(want)}"
    if shown == show_number(want):  # long numbers that differ where the display cuts them
        reason += f" (they differ at digit {_first_difference(got, want) + 1})"
    return CheckResult.of("number", False, reason, (shown,))


def _first_difference(a: Decimal, b: Decimal) -> int:
    x, y = format(a, "f"), format(b, "f")
    return next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))


def _within(got: Decimal, want: Decimal, allowed: Decimal) -> bool:
    if not allowed:
        return got == want
    with decimal.localcontext() as context:
        # 80 significant digits: fast for "1e999999999 - 1", and a tolerance that a rounding at the
        # 80th digit could move the difference across is no tolerance anyone writes.
        context.prec = 80
        return abs(got - want) <= allowed


def _tolerance(tolerance: object) -> Decimal:
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real):
        raise CheckInputError(f"number: tolerance must be a number, got {tolerance!r:.60}")
    value = Decimal(tolerance) if isinstance(tolerance, int) else Decimal(repr(float(tolerance)))
    if not value.is_finite() or value < 0:
        raise CheckInputError(f"number: tolerance must be a finite number >= 0, got {tolerance!r:.60}")
    return value


def _expected_number(expected: object) -> Decimal:
    if isinstance(expected, str):
        try:
            value = Decimal(clean_number(expected.strip()))
        except decimal.InvalidOperation:
            value = Decimal("nan")
        if not value.is_finite():
            raise CheckInputError(f"number: expected {expected!r:.60} is not a number")
        return value
    if isinstance(expected, bool) or not isinstance(expected, numbers.Real):
        raise CheckInputError(f"number: expected must be a number or a numeric string, got {expected!r:.60}")
    if isinstance(expected, int):
        return Decimal(expected)
    value = Decimal(repr(float(expected)))  # 0.1 means 0.1, not 0.1000000000000000055...
    if not value.is_finite():
        raise CheckInputError(f"number: expected must be finite, got {expected!r}")
    return value
