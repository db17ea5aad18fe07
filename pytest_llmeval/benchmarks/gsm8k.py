"""GSM8K: grade-school math word problems, answered by generation and scored on the final number.

The prompt is lm-evaluation-harness's zero-shot ``gsm8k`` format (``Question: ...\\nAnswer:``),
generation stops where the model starts a new question, and the reference answer is the number
after ``####`` in the dataset's worked solution.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..cases import Case, CaseError, _jsonl_rows
from ..checks.numbers import clean_number

STOP = ("Question:", "</s>", "<|im_end|>")  # lm-eval's gsm8k generation stops
_FINAL = re.compile(r"####\s*(-?[0-9.,]+)")


def load_gsm8k(path: str | Path, limit: int | None = None) -> list[Case]:
    """Read GSM8K rows (``question``, ``answer``) into cases whose ``expected`` is the final number."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"dataset file does not exist: {path}")
    cases: list[Case] = []
    # load_cases's JSONL reading: blank lines skipped, a byte order mark dropped, bad bytes named.
    for row in _jsonl_rows(path):
        if limit is not None and len(cases) >= limit:
            break
        question, solution = row.columns.get("question"), row.columns.get("answer")
        if not isinstance(question, str) or not isinstance(solution, str):
            raise CaseError(f"{row.where}: not a GSM8K row with a question and an answer (texts)")
        final = _FINAL.search(solution)
        if final is None:
            raise CaseError(f"{row.where}: the answer has no '#### <number>' line")
        cases.append(
            Case(
                id=f"gsm8k-{row.number}",
                prompt=f"Question: {question}\nAnswer:",
                expected=clean_number(final.group(1)),
                metadata={"solution": solution},
            )
        )
    return cases
