from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.benchmarks.gsm8k import load_gsm8k
from pytest_llmeval.cases import CaseError

from ..helpers import DATA


def test_cases_carry_the_final_number_and_lm_eval_prompt() -> None:
    cases = load_gsm8k(DATA / "gsm8k_first5.jsonl")
    assert len(cases) == 5
    first = cases[0]
    assert first.id == "gsm8k-1" and first.expected == "18"
    assert first.prompt is not None and first.prompt.startswith("Question: Janet")
    assert first.prompt.endswith("\nAnswer:")
    assert len(load_gsm8k(DATA / "gsm8k_first5.jsonl", limit=2)) == 2


def test_bad_rows_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "g.jsonl"
    bad.write_text('{"question": "q", "answer": "a\\n#### 4"}\n{"question": "q"}\n')
    with pytest.raises(CaseError, match=r"g\.jsonl:2: not a GSM8K row"):
        load_gsm8k(bad)
    bad.write_text('{"question": "q", "answer": "no final line"}\n')
    with pytest.raises(CaseError, match=r"g\.jsonl:1: the answer has no '#### <number>' line"):
        load_gsm8k(bad)
