"""Grounded answers: catch numbers the model made up, and text that is no longer language.

The model explains how to solve each of 20 GSM8K problems. A 135M model often invents
quantities, and that is what ``grounded_in(problem)`` catches: every number, name, date or
quote of the answer must be in the problem, or be the correct result of arithmetic the answer
shows on numbers that are (``16 - 3 - 4 = 9`` is supported, ``16 - 3 - 4 = 10`` is not).
``not_garbled()`` fails on loops, symbol soup and word salad, the way a broken fine-tune
writes. A case whose answer passes both is grounded, not necessarily right: checking the final
number is the job of ``test_gsm8k.py``.

    pytest examples/test_grounded.py -rx --llmeval-model="$(python -m pytest_llmeval.testmodel)"

``-rx`` lists each failed case with the claim that is not supported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval import LLM, Case, expect

DATA = Path(__file__).parent / "data" / "gsm8k_first40.jsonl"  # MIT, openai/grade-school-math


def problems(limit: int = 20) -> list[Case]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()[:limit]]
    return [
        Case(
            id=f"gsm8k-{number}",
            messages=({"role": "user", "content": f"{row['question']}\nExplain step by step."},),
            context=row["question"],
        )
        for number, row in enumerate(rows, start=1)
    ]


@pytest.mark.llmeval(max_tokens=96)
@pytest.mark.parametrize("case", problems(), ids=str)
def test_grounded_explanation(llm: LLM, case: Case) -> None:
    assert case.context is not None
    answer = llm.complete(case)
    expect(answer).not_garbled().grounded_in(case.context)
