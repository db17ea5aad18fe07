"""A generation eval suite: the first 20 GSM8K problems, scored on the final number.

The prompt and stop sequences are lm-evaluation-harness's zero-shot ``gsm8k``; the check takes
the last number of the answer, as lm-eval's flexible extraction does. A 135M model solves few
of these: most cases show as ``x`` (expected failures) with the number it gave, which is the
point of a scored suite: the run still passes, and the summary says how many it got.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval import LLM, Case, expect
from pytest_llmeval.benchmarks.gsm8k import STOP, load_gsm8k

# The data file holds 40 problems (the fine-tune example asks all of them); 20 keep the first
# command within minutes on a laptop CPU, at up to 160 generated tokens each.
PROBLEMS = load_gsm8k(Path(__file__).parent / "data" / "gsm8k_first40.jsonl")[:20]


@pytest.mark.llmeval(max_tokens=160, stop=STOP)
@pytest.mark.parametrize("case", PROBLEMS, ids=str)
def test_gsm8k(llm: LLM, case: Case) -> None:
    answer = llm.complete(case)
    expect(answer).number(case.expected)
