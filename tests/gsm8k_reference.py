"""``grounded_in`` on GSM8K's own reference solutions, which are right: every flag is a number the
solution does not derive in writing (an unshown step, which the default rule flags on purpose) or
a false flag. The rules that read relations should never fire on a right solution; the few rows
where they still do are listed in ``tests/checks/test_grounding_reference.py``.

Not a test module: that test and ``bench/bench_grounding.py`` both import it from here. The data
(``tests/data/gsm8k/test.jsonl``) was added after the relation rules were written, to find their
false flags; four fixes came from it (a value the output computes may fill any relation, "min"
and "hr" are units, weekdays count days, "N things for $M each" is no rate), so for those it is no
longer unseen data.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pytest_llmeval.checks.grounding import grounded_in

DATA = Path(__file__).resolve().parent / "data" / "gsm8k" / "test.jsonl"
# The reasons of the rules that read relations (``checks/grounding/relations.py`` and
# ``proportions.py``), as the check words them.
RELATION_REASONS = (
    "the context states another number here",
    "the context gives another rate",
    "the context gives this number in another unit",
    "the context uses this number only as a difference or factor",
    "the context gives no such time ago",
)
_CALCULATOR_NOTE = re.compile(r"<<[^>]*>>")  # "<<16-3-4=9>>": GSM8K's calculator annotations
_FINAL = re.compile(r"\n####.*", re.DOTALL)  # the "#### 18" answer line


@dataclass(frozen=True)
class Flags:
    rows: int
    flagged: list[int]  # the rows flagged, by row number in the file
    by_relation: list[int]  # the rows where a relation rule fired
    reasons: Counter[str]  # how often each kind of reason appears


def solution(answer: str) -> str:
    """A reference answer as a model would write it: no calculator notes, no "####" line."""
    return _FINAL.sub("", _CALCULATOR_NOTE.sub("", answer))


def flags(path: Path = DATA) -> Flags:
    flagged: list[int] = []
    by_relation: list[int] = []
    reasons = Counter[str]()
    lines = path.read_text(encoding="utf-8").splitlines()
    for row, line in enumerate(lines):
        item = json.loads(line)
        result = grounded_in(solution(item["answer"]), item["question"])
        if result.passed:
            continue
        flagged.append(row)
        for why in re.findall(r"' \(([a-z][^;)]*)", result.reason):  # "'$40' (why...) in '...'"
            reasons[why.split(":", 1)[0]] += 1
        if any(reason in result.reason for reason in RELATION_REASONS):
            by_relation.append(row)
    return Flags(len(lines), flagged, by_relation, reasons)
