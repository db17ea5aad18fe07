from __future__ import annotations

import random
from fractions import Fraction

import pytest

from pytest_llmeval.checks import final_number, number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("She makes $18 every day.", 18.0),
        ("1,234 apples, then 5.5 more.", 5.5),
        ("It costs $1,200.", 1200.0),
        ("Down to -3 degrees", -3.0),
        ("The answer is 7. Done...", 7.0),
        ("no digits here", None),
    ],
)
def test_final_number(text: str, value: float | None) -> None:
    assert final_number(text) == value


def test_number_check_names_what_it_found() -> None:
    assert number("So the total is 18.", "18").passed
    assert number("About 3.14", 3.1416, tolerance=0.01).passed
    wrong = number("I think 17", "18")
    assert not wrong.passed and wrong.reason == "final number 17, expected 18" and wrong.evidence == ("17",)
    missing = number("I do not know", 18)
    assert not missing.passed and missing.reason.startswith("no number in 'I do not know'")


def _written(value: Fraction, decimals: int, rng: random.Random) -> str:
    """``value`` as a model might write it: maybe a $ and thousands separators."""
    sign = "-" if value < 0 else ""
    scaled = abs(value) * 10**decimals
    whole, fraction = divmod(int(scaled), 10**decimals) if decimals else (int(scaled), 0)
    head = f"{whole:,}" if rng.random() < 0.5 else str(whole)
    tail = f".{fraction:0{decimals}d}" if decimals else ""
    return f"{sign}{'$' if rng.random() < 0.3 else ''}{head}{tail}"


def test_number_matches_exact_arithmetic_on_random_numbers_of_any_size() -> None:
    """Differential: number() against Fraction arithmetic, with numbers of 1 to 400 digits (floats
    cannot tell 20-digit numbers apart, and overflow past 309 digits)."""
    rng = random.Random(17)
    for _ in range(2000):
        digits = rng.choice([1, 3, 15, 16, 17, 20, 40, 309, 310, 400])
        decimals = rng.choice([0, 0, 1, 2, 5])
        whole = rng.randrange(10 ** (digits - 1), 10**digits) if digits > 1 else rng.randrange(10)
        value = Fraction(whole, 10**decimals) * rng.choice([1, -1])
        # The expected number is the same, one unit in the last place off, or far off.
        step = Fraction(rng.choice([0, 0, 1, -1, 10**digits]), 10**decimals)
        expected = value + step
        tolerance: Fraction = rng.choice([Fraction(0), Fraction(0), Fraction(1, 10**decimals)])
        text = f"So the answer is {_written(value, decimals, rng)}."
        expected_text = _written(expected, decimals, rng)
        result = number(text, expected_text, tolerance=float(tolerance))
        assert result.passed == (abs(value - expected) <= Fraction(float(tolerance))), (text, expected_text)


def test_a_long_number_is_shown_short_with_its_digit_count() -> None:
    result = number("the answer is " + "9" * 400, 10**400)
    assert not result.passed
    assert result.reason == (
        "final number 999999999999...99999999 (400 digits), expected 100000000000...00000000 (401 digits)"
    )
    near = number("it is 1" + "0" * 200 + "1" + "0" * 99, 10**300)
    assert not near.passed and near.reason.endswith("(they differ at digit 202)")
    assert number("the answer is " + "9" * 400, 10**400 - 1).passed
    assert final_number("x " + "9" * 400) == float("inf")  # the float view; number() compares exactly


@pytest.mark.parametrize(
    ("output", "expected", "passed", "reason"),
    [
        ("The answer is \u22123", -3, True, "final number -3 equals -3"),  # a Unicode minus
        ("The answer is \u22123", 3, False, "final number -3, expected 3"),
        ("It takes 10-15 minutes", 15, True, "final number 15 equals 15"),  # a dash, not a sign
        ("It takes 10-15 minutes", -15, False, "final number 15, expected -15"),
        (
            "The answer is 1/2",
            2,
            False,
            "could not decide: the final number is part of a fraction or an exponent",
        ),
        (
            "The answer is 1e3",
            3,
            False,
            "could not decide: the final number is part of a fraction or an exponent",
        ),
        ("About 6.02e-23 of them", 23, False, "could not decide: the final number is part of a fraction"),
        ("So 24 / 2 = 12 apples.", 12, True, "final number 12 equals 12"),
        ("The speed is 60 km/h.", 60, True, "final number 60 equals 60"),
    ],
)
def test_signs_dashes_fractions_and_exponents(
    output: str, expected: float, passed: bool, reason: str
) -> None:
    """Once: "\\u22123" (a Unicode minus) passed for 3, "10-15" read as -15, and "1/2" and "1e3"
    passed for 2 and 3."""
    result = number(output, expected)
    assert result.passed is passed and result.reason.startswith(reason), result.reason
