"""Your own check and your own metric, next to the built-in ones.

A check is any function that returns a ``CheckResult``; ``expect(out).check(result)`` records
it like a built-in one (a failed check makes the case an ``x`` with your reason). A metric is a
per-case score the test records with ``record_score(name, value)``: the suite reports its mean
with a 95% interval, ``min={name: bound}`` holds it to a bound, and the baseline and the
regression gate compare it case by case like ``acc``.

Here the model answers unit-conversion questions. The custom check ``states_number_with_unit``
wants the expected number next to the unit's name ("100 centimetres"), not a bare number;
the custom metric ``conciseness`` is 1 for an answer of at most 12 words and shrinks with
every word past that.

    pytest examples/test_custom.py --llmeval-model="$(python -m pytest_llmeval.testmodel)"
"""

from __future__ import annotations

import re

import pytest

from pytest_llmeval import LLM, Case, CheckResult, expect, record_score

QUESTIONS = [
    ("How many centimetres are in one metre?", 100, "centimetre"),
    ("How many minutes are in one hour?", 60, "minute"),
    ("How many seconds are in one minute?", 60, "second"),
    ("How many days are in one week?", 7, "day"),
    ("How many months are in one year?", 12, "month"),
    ("How many grams are in one kilogram?", 1000, "gram"),
    ("How many hours are in one day?", 24, "hour"),
    ("How many millimetres are in one centimetre?", 10, "millimetre"),
    ("How many metres are in one kilometre?", 1000, "metre"),
    ("How many years are in one century?", 100, "year"),
]

CASES = [
    Case(
        id=unit,
        messages=({"role": "user", "content": question},),
        expected=str(number),
        metadata={"unit": unit},
    )
    for question, number, unit in QUESTIONS
]

WORDS_ALLOWED = 12


def states_number_with_unit(answer: str, number: str, unit: str) -> CheckResult:
    """The answer says ``number`` followed by the unit (singular or plural, any case)."""
    digits = r"\b" + r",?".join(re.escape(d) for d in number) + r"\b"  # 1000 or 1,000
    found = re.search(rf"{digits}\s*{re.escape(unit)}s?\b", answer, flags=re.IGNORECASE)
    if found:
        return CheckResult.of("states_number_with_unit", True, f"says {found.group(0)!r}", (found.group(0),))
    bare = re.search(digits, answer)
    said = f"says {number} but not '{number} {unit}s'" if bare else f"never says {number}"
    return CheckResult.of("states_number_with_unit", False, f"{said}: {answer[:80]!r}")


def conciseness(answer: str) -> float:
    """1.0 up to ``WORDS_ALLOWED`` words, then ``WORDS_ALLOWED / words``."""
    words = len(answer.split())
    return 1.0 if words <= WORDS_ALLOWED else WORDS_ALLOWED / words


@pytest.mark.llmeval(max_tokens=48, min={"conciseness": 0.6})
@pytest.mark.parametrize("case", CASES, ids=str)
def test_unit_conversion(llm: LLM, case: Case) -> None:
    answer = llm.complete(case)
    expect(answer).check(states_number_with_unit(answer, case.expected, case.metadata["unit"]))
    record_score("conciseness", conciseness(answer))
