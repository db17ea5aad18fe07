"""Size limits: a check over its documented limit says it could not check; at the limit it runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_llmeval import checks
from pytest_llmeval.checks.result import SIZE_LIMITS, CheckResult
from pytest_llmeval.checks.similarity import ROUGE_CELLS

CONTEXT = "Janet's ducks lay 16 eggs per day."

# Each check called on a text of a given size (the rest of its input small).
CALLS: dict[str, Callable[[str], CheckResult]] = {
    "grounded_in": lambda text: checks.grounded_in(text, CONTEXT[:1]),
    "consistent": lambda text: checks.consistent(text, [CONTEXT[:1]]),
    "not_garbled": lambda text: checks.not_garbled(text),
    "similar_to": lambda text: checks.similar_to(text, "x", method="rouge"),
    "json": lambda text: checks.json(text),
    "sentences": lambda text: checks.sentences(text, max=10),
    "no_pii": lambda text: checks.no_pii(text),
    "no_leak": lambda text: checks.no_leak(text, "the secret code word"),
}


def test_every_limited_check_is_tested() -> None:
    assert set(CALLS) == set(SIZE_LIMITS)


@pytest.mark.parametrize("name", sorted(SIZE_LIMITS))
def test_over_the_limit_a_check_fails_and_says_it_could_not_check(name: str) -> None:
    limit = SIZE_LIMITS[name]
    extra = len(CONTEXT[:1]) if name in ("grounded_in", "consistent") else 0
    over = CALLS[name]("a" * (limit - extra + 1))
    assert not over.passed and over.score == 0.0
    assert over.reason.startswith("could not check: ") and f"over {name}'s limit of {limit:,}" in over.reason
    at = CALLS[name]("a" * (limit - extra))
    assert not at.reason.startswith("could not check")


def test_a_limit_is_above_the_default_answer_cap() -> None:
    from pytest_llmeval.engine.types import DEFAULT_MAX_ANSWER_CHARS

    assert min(SIZE_LIMITS.values()) > DEFAULT_MAX_ANSWER_CHARS


def test_similar_to_with_rouge_refuses_a_table_over_its_cells_and_names_the_count() -> None:
    words = 1 + ROUGE_CELLS // 100
    result = checks.similar_to("w " * words, "r " * 100, method="rouge")
    assert not result.passed
    assert result.reason == (
        f"could not check: ROUGE-L would compare {words * 100:,} pairs of words, over the limit of "
        f"{ROUGE_CELLS:,} (output words x reference words)"
    )
    assert checks.similar_to("w " * (ROUGE_CELLS // 100), "r " * 100, method="rouge").reason.startswith(
        "ROUGE-L"
    )
