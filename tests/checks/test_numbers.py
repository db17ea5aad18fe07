from __future__ import annotations

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
