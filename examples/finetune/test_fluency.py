"""A fluency suite: does the model still answer the question it was asked, in language?

The 40 GSM8K problems of ``examples/data`` are asked through the chat template, and each answer
is checked for what a fine-tune must not lose, not for the right number (a 135M model solves
few of them): the text is not degenerate (``not_garbled``), and it is about the problem, that
is, it reuses at least two of the problem's content words (names, objects, units). SmolLM2
passes most cases; a damaged copy of it drifts into text about something else, or into word
salad. See README.md for the commands and the figures measured.

Answers are sampled (temperature 0.7) with the seed in ``LLMEVAL_EXAMPLE_SEED`` (default 0),
so two runs with different seeds differ by sampling noise alone, which is what the gate must
tell from a real drop. Seeded requests are cached, so each seed's run is reproducible.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from pytest_llmeval import LLM, Case, CheckResult, expect

DATA = Path(__file__).parents[1] / "data" / "gsm8k_first40.jsonl"  # MIT, openai/grade-school-math
SEED = int(os.environ.get("LLMEVAL_EXAMPLE_SEED", "0"))
MIN_SHARED = 2

# Words too common to show that an answer is about this problem rather than any other.
_COMMON = frozenset(
    (
        "about",
        "after",
        "also",
        "before",
        "does",
        "each",
        "every",
        "from",
        "have",
        "into",
        "many",
        "more",
        "much",
        "only",
        "other",
        "some",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "total",
        "what",
        "when",
        "which",
        "will",
        "with",
        "would",
    )
)


def problems() -> list[Case]:
    """One chat case per GSM8K problem: the question alone, as a user would ask it."""
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return [
        Case(
            id=f"gsm8k-{number}",
            messages=({"role": "user", "content": json.loads(line)["question"]},),
        )
        for number, line in enumerate(lines, start=1)
    ]


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4 and w not in _COMMON}


def on_topic(answer: str, question: str, min_shared: int = MIN_SHARED) -> CheckResult:
    """The answer reuses at least ``min_shared`` content words of the question."""
    shared = sorted(content_words(answer) & content_words(question))
    if len(shared) >= min_shared:
        return CheckResult.of("on_topic", True, f"reuses {', '.join(shared)}", tuple(shared))
    said = "only " + ", ".join(shared) if shared else "none"
    return CheckResult.of(
        "on_topic",
        False,
        f"reuses {said} of the question's content words (wanted {min_shared}): {answer[:80]!r}",
    )


@pytest.mark.llmeval(max_tokens=32, temperature=0.7, seed=SEED)
@pytest.mark.parametrize("case", problems(), ids=str)
def test_fluency(llm: LLM, case: Case) -> None:
    assert case.messages is not None
    answer = llm.complete(case)
    expect(answer).not_garbled()
    expect(answer).check(on_topic(answer, case.messages[0]["content"]))
