"""A multiple-choice eval suite: three BIG-Bench Hard tasks, scored by loglikelihood like lm-eval.

Each question is a case; the model picks the choice it finds most likely after the prompt
(lm-evaluation-harness's ``acc``). All 90 questions are scored ahead in one batched pass.

SmolLM2-135M is near chance on these tasks (measured: 0.344 over the 90; chance is about 0.39),
so the threshold is low: it catches a model that does clearly worse than guessing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval import LLM, Case, expect
from pytest_llmeval.benchmarks.bbh import load_bbh

DATA = Path(__file__).parent / "data" / "bbh"
QUESTIONS = [case for task in sorted(DATA.glob("*.json")) for case in load_bbh(task)]


@pytest.mark.llmeval(min_pass_rate=0.25)
@pytest.mark.parametrize("case", QUESTIONS, ids=str)
def test_bbh(llm: LLM, case: Case) -> None:
    assert case.choices is not None and case.answer is not None
    picked = llm.choose(case)
    expect(picked.choice).equals(case.choices[case.answer], case=True)
