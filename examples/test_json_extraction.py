"""JSON extraction with a pydantic schema: is the reply valid JSON of the right shape, with the right values?

Each case is one sentence about a person (the last two are harder); the model is asked for a
JSON object with the person's name, age and city. Two checks, kept apart on purpose, because they fail for
different reasons: ``json(schema=Person)`` says whether the reply is JSON of that shape at all
(a missing key, a string where a number belongs: the failing path is named), and
``same_person`` says whether the values are the ones in the sentence. A reply can be valid and
wrong, which is the hallucination this suite is for.

    pytest examples/test_json_extraction.py --llmeval-model="$(python -m pytest_llmeval.testmodel)"
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from pytest_llmeval import LLM, Case, CheckResult, expect


class Person(BaseModel):
    name: str
    age: int
    city: str


PROMPT = (
    'Extract the person from the sentence as a JSON object with the keys "name", "age" and "city". '
    "Reply with the JSON only.\n\nSentence: {sentence}"
)

SENTENCES = [
    ("Bob is 42 years old and lives in Paris.", Person(name="Bob", age=42, city="Paris")),
    ("Alice, 31, works as a nurse in Berlin.", Person(name="Alice", age=31, city="Berlin")),
    ("Carlos moved to Madrid when he turned 25.", Person(name="Carlos", age=25, city="Madrid")),
    ("At 67, Margaret still runs a bakery in London.", Person(name="Margaret", age=67, city="London")),
    ("Yuki is a 19-year-old student in Tokyo.", Person(name="Yuki", age=19, city="Tokyo")),
    ("The mayor of Rome, Giulia, is 54.", Person(name="Giulia", age=54, city="Rome")),
    ("Omar, aged 38, drives a taxi in Cairo.", Person(name="Omar", age=38, city="Cairo")),
    ("Priya celebrated her 29th birthday at home in Mumbai.", Person(name="Priya", age=29, city="Mumbai")),
    ("Lars is 45 and teaches history in Oslo.", Person(name="Lars", age=45, city="Oslo")),
    ("In Toronto lives Emma, who is 23.", Person(name="Emma", age=23, city="Toronto")),
    # Harder: the age in words, and a second person who is not the one asked about.
    ("Nina turned thirty last spring, in Vienna.", Person(name="Nina", age=30, city="Vienna")),
    ("Sam, 40, lives in Lisbon; his sister Ana, 36, visits.", Person(name="Sam", age=40, city="Lisbon")),
]

CASES = [
    Case(
        id=person.name.lower(),
        messages=({"role": "user", "content": PROMPT.format(sentence=sentence)},),
        expected=person.model_dump_json(),
    )
    for sentence, person in SENTENCES
]


def _folded(value: object) -> str:
    return str(value).casefold()


def same_person(got: Person, want: Person) -> CheckResult:
    """Every field equals the sentence's (names and cities compared without case)."""
    fields = [f for f in Person.model_fields if _folded(getattr(got, f)) != _folded(getattr(want, f))]
    if fields:
        reason = "; ".join(f"{f} {getattr(got, f)!r}, not {getattr(want, f)!r}" for f in fields)
        return CheckResult.of("same_person", False, reason, tuple(str(getattr(got, f)) for f in fields))
    return CheckResult.of("same_person", True, "every field matches the sentence")


@pytest.mark.llmeval(max_tokens=64)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_extract_person(llm: LLM, case: Case) -> None:
    reply = llm.complete(case)
    person = expect(reply).json(schema=Person)  # None, and a recorded failure, when it is not
    if person is not None:
        expect(reply).check(same_person(person, Person.model_validate_json(case.expected)))
