from __future__ import annotations

import random

import pytest

from pytest_llmeval.checks.grounding import grounded_in
from pytest_llmeval.checks.grounding.units import _KINDS

MOVIE = (
    "A movie is 2 hours and 30 minutes long. Tom watched 45 minutes of it. "
    "A rope is 3 feet long and costs $2."
)


@pytest.mark.parametrize(
    "output",
    [
        "2 hours = 120 minutes; 120 + 30 = 150 minutes; 150 - 45 = 105 minutes left.",
        "The rope is 3 feet = 36 inches long.",
        "It costs $2 = 200 cents.",
        "Tom watched 45 minutes = 0.75 hours.",
    ],
)
def test_a_shown_conversion_supports_its_result(output: str) -> None:
    result = grounded_in(output, MOVIE)
    assert result.passed, result.reason


@pytest.mark.parametrize(
    ("output", "unsupported"),
    [
        ("2 hours is 100 minutes.", "'100'"),  # wrong factor
        ("2 hours is 120 seconds.", "'120'"),  # right number, wrong unit
        ("3 feet is 36 pounds.", "'36'"),  # units of different kinds
        ("5 hours is 300 minutes.", "'5'"),  # right conversion of a number from nowhere
    ],
)
def test_a_wrong_conversion_or_one_from_nowhere_supports_nothing(output: str, unsupported: str) -> None:
    result = grounded_in(output, MOVIE)
    assert not result.passed and unsupported in result.reason


@pytest.mark.parametrize(
    "output",
    [
        "He watched 45 + 30 = 75 minutes, which is 1.25 hours.",
        "Tom watched 45 minutes, or 0.75 hours.",
        "The rope is 3 feet (36 inches) long.",
    ],
)
def test_a_conversion_restated_without_a_sign_supports_its_result(output: str) -> None:
    result = grounded_in(output, MOVIE)
    assert result.passed, result.reason


def test_a_restated_conversion_must_be_exact_and_its_number_is_still_judged() -> None:
    assert not grounded_in("Tom watched 45 minutes, or 0.9 hours.", MOVIE).passed
    assert grounded_in("Tom watched 45 minutes, or 0.8 hours.", MOVIE).passed  # 0.75 to one decimal
    made_up = grounded_in("Tom watched 50 minutes, or 3000 seconds.", MOVIE)
    assert not made_up.passed and "'50' (not in the context" in made_up.reason


def test_every_listed_conversion_is_read_both_ways() -> None:
    """Random pairs of units of a kind: "N a is M b" with M = N * size(a) / size(b) is supported
    when the context states N, and the same with M off by one is not."""
    rng = random.Random(7)
    for _ in range(300):
        units = _KINDS[rng.choice(sorted(_KINDS))]
        a, b = rng.sample(sorted(units), 2)
        if units[a] == units[b]:
            continue  # foot and feet
        n = rng.randint(3, 40)
        m = n * units[a] / units[b]
        if m != int(m) or m <= 2:
            continue
        plural = {"foot": "feet", "inch": "inches"}
        a_word, b_word = (
            plural.get(a, a if a == "feet" else a + "s"),
            plural.get(b, b if b == "feet" else b + "s"),
        )
        context = f"It was {n} {a_word}."
        good = grounded_in(f"{n} {a_word} is {int(m)} {b_word}.", context)
        bad = grounded_in(f"{n} {a_word} is {int(m) + 1} {b_word}.", context)
        assert good.passed, (context, good.reason)
        assert not bad.passed, (context, bad.reason)
