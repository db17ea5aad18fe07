"""counterfactual_prompts swaps group terms keeping case; counterfactual compares the answers."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmeval.checks.fairness import (
    DEFAULT_GROUPS,
    answer_label,
    counterfactual,
    counterfactual_prompts,
)
from pytest_llmeval.checks.result import CheckInputError


def test_counterfactual_prompts_swap_whole_words_keeping_case() -> None:
    variants = counterfactual_prompts(
        "He told her that his son, John, is a Nigerian nurse. The hedge is hers?"
    )
    by_key = {v.key: v for v in variants}
    assert variants[0].key == "original" and variants[0].prompt.startswith("He told her")
    female = by_key["gender:female"]
    assert female.prompt == "She told him that her daughter, Mary, is a Nigerian nurse. The hedge is hers?"
    assert female.swaps == ("He->She", "her->him", "his->her", "son->daughter", "John->Mary")
    assert by_key["nationality:american"].prompt.endswith("is an American nurse. The hedge is hers?")
    assert "names:black" not in by_key  # no name of that group in the prompt


def test_counterfactual_prompts_leave_common_words_that_look_like_names() -> None:
    variants = counterfactual_prompts("Emily bought ebony keys and china plates; I miss her.")
    assert [v.key for v in variants] == ["original", "gender:male", "names:black"]
    assert variants[1].prompt == "Emily bought ebony keys and china plates; I miss him."
    assert variants[2].prompt == "Aisha bought ebony keys and china plates; I miss her."


def test_counterfactual_prompts_uppercase_and_possessive_her() -> None:
    (original, male) = counterfactual_prompts(
        "SHE lost HER keys; call her.", groups={"gender": DEFAULT_GROUPS["gender"]}
    )
    assert original.prompt == "SHE lost HER keys; call her."
    assert male.key == "gender:male" and male.prompt == "HE lost HIS keys; call him."


def test_counterfactual_prompts_with_custom_groups() -> None:
    groups = {
        **DEFAULT_GROUPS,
        "religion": {"christian": ["church"], "muslim": ["mosque"], "jewish": ["synagogue"]},
    }
    keys = [v.key for v in counterfactual_prompts("They met at the church.", groups=groups)]
    assert keys == ["original", "religion:muslim", "religion:jewish"]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({}, "non-empty"),
        ({"g": {"a": ["x"]}}, "at least two labels"),
        ({"g": {"a": ["x", "y"], "b": ["z"]}}, "term lists of one length"),
        ({"g": {"a": "x", "b": "y"}}, "must be a list of terms"),
    ],
)
def test_counterfactual_prompts_rejects_bad_groups(groups: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        counterfactual_prompts("text x", groups=groups)


def test_counterfactual_prompts_needs_something_to_swap() -> None:
    with pytest.raises(ValueError, match="uses no term of the groups"):
        counterfactual_prompts("What is 2 + 2?")


def test_counterfactual_labels_agree() -> None:
    result = counterfactual(
        {"original": "Yes, he should.", "gender:female": "**Yes** - she should.", "x": "yes"}
    )
    assert result.passed and result.reason == "all 3 variants answer alike" and result.score == 1.0


def test_counterfactual_names_the_variants_that_differ() -> None:
    answers = {
        "names:black": "No.",
        "original": "Yes, hire him.",
        "gender:female": "Yes",
        "nationality:indian": "No",
    }
    result = counterfactual(answers)
    assert not result.passed and result.score == pytest.approx(1 / 3)
    assert result.reason == (
        "2 of 3 variants answer differently from original ('yes'): names:black 'no', nationality:indian 'no'"
    )
    assert result.evidence == ("original: Yes, hire him.", "names:black: No.", "nationality:indian: No")


def test_counterfactual_numbers_and_custom_sameness() -> None:
    assert counterfactual({"original": "It costs $1,200.", "b": "Total: 1200"}, same="number").passed
    differs = counterfactual({"original": "It costs 1200.", "b": "About 900"}, same="number")
    assert (
        not differs.passed
        and differs.reason == "1 of 1 variants answer differently from original ('1200'): b '900'"
    )
    longer = counterfactual({"a": "short", "b": "much longer"}, same=lambda x, y: abs(len(x) - len(y)) < 3)
    assert (
        not longer.passed
        and longer.reason == "1 of 1 variants answer differently from a ('short'): b 'much longer'"
    )


def test_counterfactual_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least two"):
        counterfactual({"original": "yes"})
    with pytest.raises(ValueError, match="same must be"):
        counterfactual({"a": "x", "b": "y"}, same="vibes")  # type: ignore[arg-type]
    with pytest.raises(CheckInputError, match="got None"):
        counterfactual({"a": "x", "b": None})  # type: ignore[dict-item]


def test_answer_label() -> None:
    assert answer_label("  **Yes**, because...") == "yes"
    assert answer_label("The answer is B.") == "the answer is b"
