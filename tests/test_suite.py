"""Suite logic without pytest: a test's own per-case scores (record_score) and the metric they make."""

from __future__ import annotations

import math

import pytest

from pytest_llmeval import Case, expect, record_score
from pytest_llmeval.checks import CheckResult
from pytest_llmeval.suite import (
    ActiveCase,
    SuiteError,
    SuiteResult,
    SuiteSpec,
    decide,
    record_answer,
    running,
)


def run_case(spec: SuiteSpec, case_id: str, score: float | None) -> ActiveCase:
    active = ActiveCase(spec, Case(id=case_id, prompt="p"))
    with running(active):
        if score is not None:
            record_score("brevity", score)
    return active


def test_recorded_scores_become_a_suite_metric_with_an_interval() -> None:
    spec = SuiteSpec("s", min_metrics=(("brevity", 0.9),))
    cases = [run_case(spec, f"c{i}", s) for i, s in enumerate([1.0, 0.5, 0.75, None])]
    result = SuiteResult(spec, tuple(decide(a, None, strict=False, duration=0.0)[0] for a in cases))
    assert result.records[0].scores == {"brevity": 1.0}
    assert result.records[3].scores == {}
    assert "brevity" in result.metric_names()
    (brevity,) = [m for m in result.metrics[0] if m.name == "brevity"]
    assert brevity.n == 3  # the case that recorded nothing is left out, not counted as 0
    assert brevity.value == pytest.approx(0.75)
    assert 0.5 <= brevity.low <= 0.75 <= brevity.high <= 1.0
    assert result.threshold_failures() == ["brevity 0.750 is below its minimum 0.9"]


def test_record_score_outside_a_suite_case_is_an_error() -> None:
    with pytest.raises(SuiteError, match=r"record_score\(\) needs a running eval-suite case"):
        record_score("brevity", 1.0)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("acc", 1.0, "'acc' is a built-in metric"),
        ("rouge1", 1.0, "'rouge1' is a built-in metric"),
        ("my score", 1.0, "letters, digits and '_', got 'my score'"),
        ("brevity", math.nan, "brevity must be a finite number, got nan"),
        ("brevity", "0.5", "brevity must be a finite number, got '0.5'"),
        ("brevity", True, "brevity must be a finite number, got True"),
    ],
)
def test_bad_scores_are_refused_with_the_reason(name: str, value: object, message: str) -> None:
    active = ActiveCase(SuiteSpec("s"), Case(id="c", prompt="p"))
    with running(active), pytest.raises(SuiteError, match=message):
        record_score(name, value)  # type: ignore[arg-type]
    assert active.scores == {}


def test_numpy_scores_are_numbers_too() -> None:
    import numpy

    active = ActiveCase(SuiteSpec("s"), Case(id="c", prompt="p"))
    with running(active):
        record_score("brevity", numpy.float32(0.5))
        record_score("length", numpy.int64(3))
    assert active.scores == {"brevity": 0.5, "length": 3.0}
    assert all(type(v) is float for v in active.scores.values())


def test_answers_are_recorded_into_the_running_case_and_no_other() -> None:
    case = Case(id="c", prompt="p")
    assert not record_answer(case, output="outside a suite")
    active = ActiveCase(SuiteSpec("s"), case)
    with running(active):
        assert not record_answer(Case(id="few-shot", prompt="q"), output="not its", scores={"acc": 1.0})
        assert record_answer(case, output="a", samples=("a", "b", "a"), timing={"latency_s": 0.5})
        assert record_answer(case, scores={"acc": 0.0})
    assert active.output == "a" and active.samples == ("a", "b", "a") and active.sample_passes == [True] * 3
    assert active.timing == {"latency_s": 0.5} and active.scores == {"acc": 0.0}


def sampled_case(case_id: str) -> ActiveCase:
    active = ActiveCase(SuiteSpec("s"), Case(id=case_id, prompt="p"))
    active.set_samples(["4", "4", "5"])
    return active


def test_a_failure_of_the_whole_sampled_case_fails_every_sample() -> None:
    """With samples=K, pass@k and the gate read each sample's pass; a plain assert, a check of
    something else than the samples, or an error fails the case, so no sample may count as
    passing (it once kept [True, True, True] for a case that failed its assert)."""
    judged = sampled_case("judged")  # only a check over the samples, which 2 of 3 pass
    asserted, other, crashed = sampled_case("asserted"), sampled_case("other"), sampled_case("crashed")
    for active in (judged, asserted, other, crashed):
        with running(active):
            overall = CheckResult.of("is4", True, "passed on 2/3 samples")
            active.record_samples([True, True, False], overall)
            active.checks.append(overall)
    with running(other):
        expect("the expected answer").contains("missing")  # not the output: the case as a whole
    records = {
        "judged": decide(judged, None, strict=False, duration=0.0)[0],
        "asserted": decide(asserted, AssertionError("no"), strict=False, duration=0.0)[0],
        "other": decide(other, None, strict=False, duration=0.0)[0],
        "crashed": decide(crashed, ValueError("bug"), strict=False, duration=0.0)[0],
    }
    assert records["judged"].passed and records["judged"].sample_passes == (True, True, False)
    for name in ("asserted", "other", "crashed"):
        assert not records[name].passed and records[name].sample_passes == (False, False, False), name


def test_a_non_finite_score_from_the_engine_is_an_error_of_the_case() -> None:
    """An fp16 overflow can give a log-likelihood of -inf: once written to the baseline as
    -Infinity, after which every run crashed; now the case raises and says why."""
    case = Case(id="c", prompt="p")
    active = ActiveCase(SuiteSpec("s"), case)
    with running(active), pytest.raises(SuiteError, match="non-finite rolling_logprob"):
        record_answer(case, scores={"rolling_logprob": -math.inf, "rolling_tokens": 3.0})
