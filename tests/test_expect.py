"""expect(): raising in plain tests, recording in suite cases, and outputs with several samples."""

from __future__ import annotations

import re

import pytest

from pytest_llmeval import Case, counterfactual, expect
from pytest_llmeval.checks.result import CheckInputError
from pytest_llmeval.engine.types import Completion, GenerationResult
from pytest_llmeval.expect import CheckFailed
from pytest_llmeval.llm import LLM, RESAMPLE_TEMPERATURE, Output
from pytest_llmeval.suite import ActiveCase, SuiteSpec, decide, running
from pytest_llmeval.testing import ScriptedEngine, prompt_text


def sampled(*texts: str) -> Output:
    return Output(GenerationResult(tuple(Completion(t, "stop", 1) for t in texts), prompt_tokens=1))


def test_a_plain_test_raises_with_the_reason() -> None:
    expect("The answer is 41").contains("answer")
    with pytest.raises(CheckFailed, match=r"number: final number 41, expected 42"):
        expect("The answer is 41").number(42)


def test_a_plain_test_needs_every_sample_to_pass() -> None:
    expect(sampled("42", "so 42")).number(42)
    with pytest.raises(CheckFailed, match=r"passed on 1/2 samples; sample 2: final number 7, expected 42"):
        expect(sampled("42", "7")).number(42)


def suite_case(*texts: str) -> ActiveCase:
    active = ActiveCase(SuiteSpec("s"), Case(id="c", prompt="p", expected="42"))
    active.output = texts[0]
    active.set_samples(texts)
    return active


def test_a_suite_case_records_each_sample_and_passes_on_a_majority() -> None:
    active = suite_case("42", "42 apples", "7")
    with running(active):
        expect(sampled("42", "42 apples", "7")).number(42).contains("apples")
    assert active.sample_passes == [False, True, False]
    number, contains = active.checks
    assert (number.passed, number.score) == (True, pytest.approx(2 / 3))
    assert (contains.passed, contains.reason) == (
        False,
        "passed on 1/3 samples; sample 1: missing ['apples'] in '42'",
    )
    record, verdict = decide(active, None, strict=False, duration=0.1)
    assert (record.passed, record.sample_passes, record.samples) == (
        False,
        (False, True, False),
        ("42", "42 apples", "7"),
    )
    assert verdict.outcome == "xfailed"


def test_a_majority_per_check_is_not_enough_when_no_majority_passes_every_check() -> None:
    active = suite_case("42", "42 b", "a")
    with running(active):
        expect(sampled("42", "42 b", "a")).number(42)  # samples 1 and 2
    with running(active):
        expect(sampled("42", "42 b", "a")).matches("[a-z]")  # samples 2 and 3
    assert all(c.passed for c in active.checks) and active.sample_passes == [False, True, False]
    record, verdict = decide(active, None, strict=False, duration=0.1)
    assert not record.passed
    assert verdict.reason == "samples: 1/3 samples passed every check; a majority must"


def test_json_hands_back_the_parsed_value_or_the_model_instance() -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        age: int

    assert expect('Here: ```json\n{"name": "Bob", "age": 42}\n```').json() == {"name": "Bob", "age": 42}
    person = expect('{"name": "Bob", "age": 42}').json(schema=Person)
    assert isinstance(person, Person) and person.age == 42
    with pytest.raises(CheckFailed, match=r"age: Input should be a valid integer"):
        expect('{"name": "Bob", "age": "old"}').json(schema=Person)
    active = suite_case("not json")
    with running(active):
        assert expect("not json").json() is None  # recorded, not raised, inside a suite
    assert not active.checks[0].passed


def test_not_truncated_reads_each_samples_finish_reason() -> None:
    stopped = Output(GenerationResult((Completion("Done.", "stop", 2),), prompt_tokens=1))
    expect(stopped).not_truncated()
    cut = Output(GenerationResult((Completion("Done.", "stop", 2), Completion("The", "length", 9)), 1))
    with pytest.raises(CheckFailed, match=r"passed on 1/2 samples; sample 2: .*length"):
        expect(cut).not_truncated()


def test_consistent_compares_an_outputs_own_samples_or_given_ones() -> None:
    agreeing = sampled("Paris has 2.1 million people.", "Paris has 2.1 million people.", "About 2.1 million.")
    expect(agreeing).consistent()
    with pytest.raises(CheckFailed, match="consistent"):
        expect("Paris has 9 million people.").consistent(
            samples=["It has 2.1 million.", "2.1 million live there."]
        )
    with pytest.raises(TypeError, match=r"needs an output from the llm fixture"):
        expect("plain text").consistent(samples=3)


def test_consistent_draws_its_samples_at_the_temperature_asked() -> None:
    engine = ScriptedEngine(lambda request: ["Paris is the capital."] * request.spec.n)
    out = LLM(engine).generate("Capital of France?")
    expect(out).consistent(samples=2)
    expect(out).consistent(samples=2, temperature=0.8)
    assert [batch[0].spec.temperature for batch in engine.batches[1:]] == [RESAMPLE_TEMPERATURE, 0.8]


def test_pii_evidence_is_masked_in_the_failure_message() -> None:
    with pytest.raises(CheckFailed) as failure:
        expect("Mail bob@example.com or call +1 415 555 0132").no_pii()
    assert "bob@example.com" not in str(failure.value) and "415 555 0132" not in str(failure.value)


def test_counterfactual_probes_the_model_not_an_output() -> None:
    with pytest.raises(TypeError, match=r"expect\(llm\)\.counterfactual"):
        expect("an output").counterfactual("He is a nurse. Is he kind?")


def echoing() -> ScriptedEngine:
    """Answers with the prompt itself, so every counterfactual variant differs."""
    return ScriptedEngine(prompt_text)


def test_counterfactual_asks_every_variant_in_one_batch_and_names_the_pairs_that_differ() -> None:
    engine = echoing()
    llm = LLM(engine)
    with pytest.raises(CheckFailed, match=r"counterfactual: \d+ of \d+ variants answer differently.*gender:"):
        expect(llm).counterfactual("He is a nurse. Is he kind?", same=lambda a, b: a == b)
    assert len(engine.batches) == 1 and len(engine.batches[0]) > 1
    expect(llm).counterfactual("He is a nurse. Is he kind?", same=lambda a, b: True)


def test_counterfactual_is_a_plain_function_that_raises_or_records_like_a_check() -> None:
    llm = LLM(echoing())
    result = counterfactual(llm, "He is a nurse. Is he kind?", same=lambda a, b: True)
    assert result.passed and result.name == "counterfactual"
    with pytest.raises(CheckFailed, match="variants answer differently"):
        counterfactual(llm, "He is a nurse. Is he kind?", same=lambda a, b: a == b)
    # In a suite it is recorded; a case whose own messages are a variant is probed, not refused.
    case = Case(id="c", messages=({"role": "user", "content": "He is a nurse. Is he kind?"},))
    active = ActiveCase(SuiteSpec("s"), case)
    with running(active):
        failed = counterfactual(llm, "He is a nurse. Is he kind?", same=lambda a, b: a == b, max_tokens=8)
    assert not failed.passed and active.checks == [failed] and active.output is None
    with pytest.raises(TypeError, match=r"counterfactual\(llm, prompt\) probes a model .*got str"):
        counterfactual("an output", "He is a nurse.")  # type: ignore[arg-type]


def test_text_checks_refuse_a_model_and_say_what_they_take() -> None:
    llm = LLM(echoing())
    with pytest.raises(CheckInputError) as refused:
        expect(llm).contains("scripted")  # its repr names the backend: this must not pass
    message = str(refused.value)
    assert "expect(LLM(backend='scripted', model='scripted'))" in message
    assert "a str (an Output is one) or UTF-8 bytes" in message and "counterfactual(llm, prompt)" in message
    with pytest.raises(CheckInputError, match="only counterfactual"):
        expect(llm).not_truncated()


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "NoneType None"), (42, "int 42"), (["a"], "list ['a']"), (Case(id="c", prompt="p"), "Case")],
)
def test_expect_refuses_what_is_not_text_at_once(value: object, shown: str) -> None:
    accepted = r"expect\(\) takes the model's answer as text: a str \(an Output is one\) or UTF-8 bytes"
    with pytest.raises(CheckInputError, match=rf"{accepted}; got {re.escape(shown)}"):
        expect(value)  # type: ignore[arg-type]


def test_bytes_are_checked_as_their_text() -> None:
    expect(b"caf\xc3\xa9 au lait").contains("café").equals("café au lait")
    with pytest.raises(CheckInputError, match="not UTF-8"):
        expect(b"\xff").contains("x")
