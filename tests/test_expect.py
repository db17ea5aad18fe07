"""expect(): raising in plain tests, recording in suite cases, and outputs with several samples."""

from __future__ import annotations

import pytest

from pytest_llmeval import Case, expect
from pytest_llmeval.engine.types import Completion, GenerationResult
from pytest_llmeval.expect import CheckFailed
from pytest_llmeval.llm import Output
from pytest_llmeval.suite import ActiveCase, SuiteSpec, decide, running


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
