from __future__ import annotations

import random

import pytest

from pytest_llmeval.checks.grounding import grounded_in, phrases
from pytest_llmeval.checks.grounding.lexing import _key
from pytest_llmeval.checks.grounding.phrases import changed_numbers, context_phrases

# The shape of a real damaged-SmolLM2 answer (tests/data/grounding3, dev half).
TRIP = "A car drives 60 mph for 2 hours, and then 30 mph for 1 hour. What is its average speed?"


def test_a_number_changed_in_a_phrase_copied_from_the_context_is_unsupported() -> None:
    result = grounded_in("A car drives 60 mph for 2 hours, so 30 mph for 2 hours.", TRIP)
    assert not result.passed
    assert "'2' (the context writes another number in this phrase: '30 mph for 1 hour')" in result.reason
    # The 2 of "60 mph for 2 hours" is the context's: only the changed one is reported.
    assert result.reason.startswith("1 of ")


@pytest.mark.parametrize(
    "output",
    [
        "A car drives 60 mph for 2 hours, and then 30 mph for 1 hour.",
        "It drives 60 * 2 = 120 miles, then 30 * 1 = 30 miles.",
        # A value the output computes may stand in the phrase: "30 mph for 3 hours" after "1 + 2 = 3".
        "It drives 1 + 2 = 3 hours in all; at 30 mph for 3 hours it would go 30 * 3 = 90 miles.",
    ],
)
def test_the_contexts_own_phrases_and_computed_values_pass(output: str) -> None:
    assert grounded_in(output, TRIP).passed, grounded_in(output, TRIP).reason


def test_only_phrases_that_pair_a_number_with_another_are_read() -> None:
    # GSM8K test row 346: "4 cookies a day for 5 days" is right beside "1 cookie a day for 7 days".
    context = "She puts 4 cookies in his lunch box 5 days a week. Her husband eats 1 cookie a day for 7 days."
    assert ("cookie", "a", "day", "for", "day") not in context_phrases(context)
    assert changed_numbers("The son gets 4 cookies a day for 5 days.", context_phrases(context)) == []
    assert grounded_in("The son gets 4 cookies a day for 5 days so he eats 4*5 = 20 cookies.", context).passed
    # Punctuation and line breaks end a phrase.
    assert context_phrases("He ran 3 miles, for 2 hours.\nThen 5 miles for\n1 hour.") == {}


def _plain_slots(text: str) -> list[tuple[tuple[str, ...], float, int, int, str]]:
    """The phrases of every number, every token normalized up front: what ``_slots`` computes
    lazily, for the tokens next to a number only."""
    tokens = list(phrases._TOKEN.finditer(text))
    normed = [phrases._norm(t.group(0)) for t in tokens]
    found = []
    for i, token in enumerate(tokens):
        if not phrases._NUMBER.match(token.group(0)) or i < 3 or i + 1 >= len(tokens):
            continue
        around = [*normed[i - 3 : i], normed[i + 1]]
        if any(t is None for t in around) or not any(phrases._NUMBER.match(t) for t in around if t):
            continue
        span = text[tokens[i - 3].start() : tokens[i + 1].end()]
        if "\n" in span:
            continue
        value = float(token.group(0).lstrip("$").rstrip("%").replace(",", ""))
        phrase = tuple(t for t in around if t is not None)
        found.append((phrase, _key(value), token.start(), token.end(), " ".join(span.split())))
    return found


@pytest.mark.parametrize("seed", range(30))
def test_phrases_read_lazily_equal_the_plain_reading_on_random_texts(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["mph", "for", "hours", "hour", "Apples", "cookies", "a", "day", "$5", "30", "1", "2.5", "12%"]
    pieces += [",", ".", "\n", "1,200", "Tom's", "the"]
    text = " ".join(rng.choice(pieces) for _ in range(rng.randrange(0, 300)))
    assert phrases._slots(text) == _plain_slots(text)
