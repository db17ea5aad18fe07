"""A first eval suite: ask the real model simple things and assert what a good answer looks like.

Run it on SmolLM2-135M-Instruct, the small model the project tests with:

    pytest examples/ --llmeval-model="$(python -m pytest_llmeval.testmodel)"

A 135M model is fluent but often wrong, so these cases are the ones it should get right;
a model that fails them is broken, not just small.
"""

from __future__ import annotations

import json
import re

import pytest

from pytest_llmeval import LLM

FACTS = [
    ("What is the capital of France? Answer in one word.", "Paris"),
    ("What is the capital of Italy? Answer in one word.", "Rome"),
    ("What is the capital of Germany? Answer in one word.", "Berlin"),
]


@pytest.mark.parametrize(("question", "answer"), FACTS, ids=[a for _, a in FACTS])
def test_factual_answer(llm: LLM, question: str, answer: str) -> None:
    out = llm.chat(question, max_tokens=24)
    assert answer.lower() in out.lower()
    assert out.finish_reason == "stop", "a one-word answer should end on its own, not run out of tokens"


def test_picks_the_right_capital_by_likelihood(llm: LLM) -> None:
    choice = llm.choose("The capital of France is", ["Paris", "London", "Berlin", "Madrid"])
    assert choice.choice == "Paris"


def test_arithmetic_continuation_is_the_likeliest(llm: LLM) -> None:
    right = llm.loglikelihood("2 + 2 =", " 4")
    wrong = llm.loglikelihood("2 + 2 =", " 5")
    assert right.logprob > wrong.logprob


def test_counts_on(llm: LLM) -> None:
    out = llm.generate("1, 2, 3, 4, 5,", max_tokens=12, stop="10")
    numbers = [int(n) for n in re.findall(r"\d+", out)]
    assert numbers[:3] == [6, 7, 8]


def test_fluent_text_is_less_perplexing_than_shuffled_words(llm: LLM) -> None:
    fluent = "The children walked to school in the morning and played in the park after lunch."
    shuffled = "park morning the lunch children after school and in walked the to in played the."
    assert llm.perplexity(fluent).word_perplexity < llm.perplexity(shuffled).word_perplexity


def test_numbered_list_format(llm: LLM) -> None:
    out = llm.chat("List three fruits as a numbered list.", max_tokens=48)
    items = re.findall(r"^\s*(\d+)\.\s+\S", out, flags=re.MULTILINE)
    assert items[:3] == ["1", "2", "3"], out


@pytest.mark.parametrize(
    ("question", "number"),
    [
        ("How many legs does a spider have? Answer with a number.", 8),
        ("What is 3 + 5? Answer with a number only.", 8),
    ],
    ids=["spider-legs", "addition"],
)
def test_numeric_answer(llm: LLM, question: str, number: int) -> None:
    out = llm.chat(question, max_tokens=32)
    assert number in [int(n) for n in re.findall(r"-?\d+", out)], out


def test_json_extraction(llm: LLM) -> None:
    out = llm.chat("Reply with a JSON object with keys name and age for: Bob, 42.", max_tokens=48)
    person = json.loads(out)
    assert person == {"name": "Bob", "age": 42}
