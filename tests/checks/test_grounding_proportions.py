from __future__ import annotations

import pytest

from pytest_llmeval.checks.grounding import grounded_in
from pytest_llmeval.checks.grounding.proportions import context_rates, output_proportions

# The shapes of three real SmolLM2 answers (tests/data/grounding2 and grounding3, dev halves).
SANDWICH = (
    "Each sandwich would serve 4 people. There would be 20 people in total. The meat cost $7.00 per "
    "pound and the cheese cost $3.00 per pound. He has $10."
)
LEMONADE = "He makes 4 gallons, each with 1 cup of juice. He found that 6 lemons would yield 1 cup of juice."


def test_the_contexts_rates_are_read_by_their_units() -> None:
    assert context_rates(SANDWICH) == {("$", "pound"): {7.0: "$7.00 per pound", 3.0: "$3.00 per pound"}}
    # What the rate rule cannot tell: which thing a rate is of ("1 pound of meat costs $3.00").
    assert context_rates(LEMONADE) == {("lemon", "cup"): {6.0: "6 lemons would yield 1 cup"}}
    assert context_rates("She buys 3 shirts for $15.") == {("$", "shirt"): {5.0: "3 shirts for $15"}}
    # Prices each, and "a" before a word that is no unit, give no rate of the lot.
    assert context_rates("2 cookies for $1.00 each and 20 cupcakes for $2 for each cupcake.") == {}
    assert context_rates("An eraser costs $2 and a pencil costs $3.") == {}


@pytest.mark.parametrize(
    ("context", "output", "context_says"),
    [
        (SANDWICH, "So, 2 pounds of cheese = 2 * $6 = $12.", "'$7.00 per pound' and '$3.00 per pound'"),
        (LEMONADE, "So, 1 cup of lemon juice = 2 * 1 = 2 lemons.", "'6 lemons would yield 1 cup'"),
        (LEMONADE, "We know that 1 cup of lemon juice is equal to 1 lemon.", "'6 lemons would yield 1 cup'"),
        (SANDWICH, "4 pounds of meat cost $20.", "'$7.00 per pound' and '$3.00 per pound'"),
    ],
)
def test_quantities_equated_at_a_rate_the_context_does_not_give_are_unsupported(
    context: str, output: str, context_says: str
) -> None:
    result = grounded_in(output, context)
    assert not result.passed
    assert f"(the context gives another rate: {context_says})" in result.reason


@pytest.mark.parametrize(
    ("context", "output"),
    [
        (SANDWICH, "2 pounds of cheese = 2 pounds * $3 = $6."),
        (SANDWICH, "The cost of 1 pound of meat is 1 pound * $7.00 = $7."),
        (SANDWICH, "He buys 3 pounds of meat, which is 3 * 7 = 21 dollars."),
        (LEMONADE, "He needs 4 * 1 = 4 cups, and 4 cups = 4 * 6 = 24 lemons."),
        # A sum is no proportion.
        (SANDWICH, "1 pound of meat and 1 pound of cheese is $7 + $3 = $10."),
        (SANDWICH, "1 pound of meat and 1 pound of cheese is $10."),
        # A quantity inside arithmetic is no proportion's start: "0.5 hours * 14 days = 7 hours".
        (
            "Kris plays for half an hour every day for 2 weeks, then for 2 hours every day for a week.",
            "Two weeks is 2 weeks * 7 days = 14 days. So Kris played 0.5 hours * 14 days = 7 hours.",
        ),
        # A rate that is one of the context's numbers may be one it writes in words.
        ("He walks for half an hour every day, and runs 2 hours every day.", "So 1 day is 0.5 hours."),
        # No rate between these units in the context: nothing to decide.
        (SANDWICH, "Each sandwich serves 4 people, so 20 people = 20 / 4 = 5 sandwiches."),
    ],
)
def test_proportions_at_the_contexts_rate_or_that_are_no_proportion_pass(context: str, output: str) -> None:
    assert grounded_in(output, context).passed, grounded_in(output, context).reason


def test_an_output_proportion_is_its_amount_per_unit() -> None:
    [proportion] = output_proportions("So, 2 pounds of cheese = 2 * $6 = $12.")
    assert proportion.units == ("$", "pound") and proportion.ratio == 6.0
    text = "So, 2 pounds of cheese = 2 * $6 = $12."
    assert text[proportion.amount_start : proportion.amount_end] == "$12"
