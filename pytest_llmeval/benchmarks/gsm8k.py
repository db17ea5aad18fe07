"""GSM8K: grade-school math word problems, answered by generation and scored on the final number.

The prompt is lm-evaluation-harness's zero-shot ``gsm8k`` format (``Question: ...\\nAnswer:``),
generation stops where the model starts a new question, and the reference answer is the number
after ``####`` in the dataset's worked solution.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..cases import Case, CaseError
from ..checks.numbers import clean_number

STOP = ("Question:", "</s>", "<|im_end|>")  # lm-eval's gsm8k generation stops
_FINAL = re.compile(r"####\s*(-?[0-9.,]+)")


def load_gsm8k(path: str | Path, limit: int | None = None) -> list[Case]:
    """Read GSM8K rows (``question``, ``answer``) into cases whose ``expected`` is the final number."""
    path = Path(path)
    cases: list[Case] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if limit is not None and len(cases) >= limit:
                break
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
                question, solution = row["question"], row["answer"]
            except (ValueError, KeyError, TypeError) as exc:
                raise CaseError(f"{where}: not a GSM8K row with question and answer ({exc})") from None
            final = _FINAL.search(solution)
            if final is None:
                raise CaseError(f"{where}: the answer has no '#### <number>' line")
            cases.append(
                Case(
                    id=f"gsm8k-{number}",
                    prompt=f"Question: {question}\nAnswer:",
                    expected=clean_number(final.group(1)),
                    metadata={"solution": solution},
                )
            )
    return cases
