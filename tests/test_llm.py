"""The llm fixture's API over an engine. The public scripted engine (pytest_llmeval.testing) stands in
where only plumbing is tested."""

from __future__ import annotations

import json
import pickle
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_llmeval import llm as llm_module
from pytest_llmeval.cases import Case
from pytest_llmeval.engine.cache import CachedEngine
from pytest_llmeval.engine.types import (
    Completion,
    EngineError,
    GenerationRequest,
    GenerationResult,
    GenerationSpec,
    LoglikelihoodRequest,
    RollingResult,
)
from pytest_llmeval.llm import LLM, RESAMPLE_TEMPERATURE, CompleteSettingsWarning, Output
from pytest_llmeval.suite import ActiveCase, SuiteError, SuiteSpec, generation_request, running
from pytest_llmeval.testing import ScriptedEngine, prompt_text


def echo(request: GenerationRequest) -> GenerationResult:
    """Every sample repeats the prompt with its number, so each request's answer is its own."""
    text = prompt_text(request)
    samples = tuple(Completion(f"{text}#{i}", "stop", i + 1) for i in range(request.spec.n))
    return GenerationResult(samples, prompt_tokens=len(text))


def scripted(logprobs: dict[str, float] | None = None) -> ScriptedEngine:
    """Echoes prompts, scores continuations from ``logprobs``, and one nat per character of a text."""
    return ScriptedEngine(
        echo,
        loglikelihoods=logprobs or {},
        rolling=lambda t: RollingResult(-float(len(t)), len(t), 1, len(t)),
    )


def test_one_prompt_gives_one_output_a_list_gives_a_list_in_one_batch() -> None:
    engine = scripted()
    llm = LLM(engine)
    out = llm.generate("hi", max_tokens=5)
    assert isinstance(out, Output) and out == "hi#0"
    assert out.finish_reason == "stop" and out.completion_tokens == 1 and out.prompt_tokens == 2
    outs = llm.generate(["a", "b", "c"], temperature=0.7, n=2, stop="\n")
    assert outs == ["a#0", "b#0", "c#0"]
    assert outs[1].samples == ("b#0", "b#1")
    assert len(engine.batches) == 2 and len(engine.batches[1]) == 3
    request = engine.batches[1][0]
    assert isinstance(request, GenerationRequest)
    assert request.spec.stop == ("\n",) and request.spec.temperature == 0.7


def test_chat_accepts_a_string_a_conversation_or_a_batch() -> None:
    llm = LLM(scripted())
    assert llm.chat("hello") == "hello#0"
    assert llm.chat([{"role": "user", "content": "one"}]) == "one#0"
    batch = llm.chat([[{"role": "user", "content": "x"}], [{"role": "user", "content": "y"}]])
    assert batch == ["x#0", "y#0"]
    assert llm.chat(["p", [{"role": "user", "content": "q"}]]) == ["p#0", "q#0"]


def test_schema_reaches_the_engine_as_canonical_json_schema_text() -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        age: int

    engine = scripted()
    llm = LLM(engine)
    llm.chat("Bob, 42", schema=Person)
    llm.generate("Bob, 42", schema={"type": "object", "required": ["age"]})
    from_model, from_dict = (batch[0].spec.json_schema for batch in engine.batches)  # type: ignore[attr-defined]
    assert json.loads(from_model)["required"] == ["name", "age"]
    assert from_dict == '{"required":["age"],"type":"object"}'


def test_resample_asks_the_same_request_for_fresh_seeded_samples() -> None:
    engine = scripted()
    llm = LLM(engine)
    out = llm.generate("q", max_tokens=7)
    assert llm.resample(out, 3) == ("q#0", "q#1", "q#2")
    spec = engine.batches[-1][0].spec  # type: ignore[attr-defined]
    assert (spec.n, spec.temperature, spec.seed, spec.max_tokens) == (3, RESAMPLE_TEMPERATURE, 0, 7)
    with pytest.raises(EngineError, match="does not know which model wrote it"):
        llm.resample(Output(out.result), 2)


def test_resample_temperature_given_then_the_answers_own_then_the_default() -> None:
    engine = scripted()
    llm = LLM(engine)
    greedy, sampled = llm.generate("q"), llm.generate("q", temperature=0.9, n=2)
    temperatures = []
    for output, given in ((greedy, None), (greedy, 0.6), (sampled, None), (sampled, 0.2)):
        llm.resample(output, 2, temperature=given)
        temperatures.append(engine.batches[-1][0].spec.temperature)  # type: ignore[attr-defined]
    assert temperatures == [RESAMPLE_TEMPERATURE, 0.6, 0.9, 0.2]
    for cold in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature must be above 0"):
            llm.resample(greedy, 2, temperature=cold)


def test_output_survives_pickling() -> None:
    out = LLM(scripted()).generate("p", n=2, temperature=1.0)
    again = pickle.loads(pickle.dumps(out))
    assert again == out and again.samples == out.samples and again.finish_reason == out.finish_reason


def test_choose_follows_lm_eval_acc_and_acc_norm() -> None:
    # " no" is likelier in total, " certainly" per character: acc and acc_norm disagree on purpose.
    engine = scripted({" no": -2.0, " certainly": -8.0})
    choice = LLM(engine).choose("Is it?", ["no", "certainly"])
    assert (choice.index, choice.index_norm, choice.choice) == (0, 1, "no")
    assert engine.batches[0] == [
        LoglikelihoodRequest("Is it?", " no"),
        LoglikelihoodRequest("Is it?", " certainly"),
    ]


def test_choose_batches_every_prompt_and_choice_together() -> None:
    engine = scripted({" A": -1.0, " B": -0.5, " C": -3.0})
    answers = LLM(engine).choose(["q1", "q2"], [["A", "B"], ["A", "C"]])
    assert [a.choice for a in answers] == ["B", "A"]
    assert len(engine.batches) == 1 and len(engine.batches[0]) == 4


def test_perplexity_and_loglikelihood_shapes() -> None:
    engine = scripted({" x": -1.5})
    llm = LLM(engine)
    assert llm.loglikelihood("ctx", " x").logprob == -1.5
    assert [r.logprob for r in llm.loglikelihood([("a", " x"), ("b", " x")])] == [-1.5, -1.5]
    assert llm.perplexity("abcd").num_tokens == 4
    assert len(llm.perplexity(["a", "bb"])) == 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda llm: llm.generate([]), r"generate\(\) got an empty list of prompts"),
        (lambda llm: llm.generate([1]), r"generate\(\) expects prompts, got an item of type int"),
        (lambda llm: llm.generate("x", beam_width=3), r"unknown generation option\(s\) \['beam_width'\]"),
        (lambda llm: llm.generate("x", max_tokens=0), "max_tokens must be at least 1"),
        (lambda llm: llm.generate("x", n=2), "n > 1 needs temperature > 0"),
        (lambda llm: llm.choose("q", ["only"]), "at least two non-empty string choices"),
        (lambda llm: llm.choose(["a", "b"], [["x", "y"]]), "2 prompts but 1 lists of choices"),
        (lambda llm: llm.loglikelihood("ctx"), "needs a continuation"),
        (lambda llm: llm.loglikelihood("ctx", ""), "continuation must not be empty"),
        (lambda llm: llm.perplexity([]), r"perplexity\(\) got an empty list of texts"),
        (lambda llm: llm.chat([{"role": "user"}]), "each message needs 'role' and 'content'"),
        (
            lambda llm: llm.chat("x", schema="{}"),
            "schema must be a pydantic model class or a JSON Schema dict",
        ),
    ],
)
def test_bad_calls_give_one_clear_error(call: object, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        call(LLM(scripted()))  # type: ignore[operator]


# ----- llm.complete, recording and the running case -----


SUITE_SETTINGS = GenerationSpec(max_tokens=4, temperature=0.7, top_p=0.9, seed=1, stop=("\n",), n=3)


def in_suite(case: Case, generation: GenerationSpec = SUITE_SETTINGS) -> ActiveCase:
    return ActiveCase(SuiteSpec("s", generation=generation), case)


def test_complete_in_a_suite_overrides_only_the_settings_given() -> None:
    engine = scripted()
    case = Case(id="c", prompt="q")
    with running(in_suite(case)):
        LLM(engine).complete(case)
        LLM(engine).complete(case, max_tokens=9)
        LLM(engine).complete(case, samples=5, stop=["END"])
    marker, longer, more = (r.spec for r in engine.requests)
    assert marker == SUITE_SETTINGS
    assert longer == replace(SUITE_SETTINGS, max_tokens=9)  # temperature, seed, stop and samples kept
    assert more == replace(SUITE_SETTINGS, n=5, stop=("END",))


def test_complete_with_the_markers_own_settings_gets_the_answer_generated_ahead(tmp_path: Path) -> None:
    engine = scripted()
    cached = CachedEngine(engine, tmp_path)
    case = Case(id="c", prompt="q")
    cached.prefetch([generation_request(case, SUITE_SETTINGS)])  # as the plugin pre-generates a suite
    asked = len(engine.requests)
    with running(in_suite(case)) as active:
        out = LLM(cached).complete(case, max_tokens=4, seed=1)  # equal to the marker's: same request
    assert len(engine.requests) == asked and out.samples == ("q#0", "q#1", "q#2")
    assert active.output == "q#0" and active.samples == ("q#0", "q#1", "q#2")


def test_complete_overrides_that_do_not_fit_the_suites_settings_say_which_they_met() -> None:
    case = Case(id="c", prompt="q")
    with running(in_suite(case)), pytest.raises(EngineError) as error:
        LLM(scripted()).complete(case, temperature=0)
    message = str(error.value)
    assert "llm.complete('c', temperature=0) on top of suite 's'" in message
    assert "samples=3" in message and "n > 1 needs temperature > 0" in message
    with running(in_suite(case)), pytest.raises(EngineError, match="unknown generation option"):
        LLM(scripted()).complete(case, beams=2)
    with pytest.raises(EngineError, match="samples or n, not both"):
        LLM(scripted()).complete(case, samples=2, n=2, temperature=1.0)


def test_complete_outside_a_suite_says_once_which_settings_it_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_module, "_announced", set())
    llm = LLM(scripted())
    case = Case(id="c", prompt="q")
    with pytest.warns(CompleteSettingsWarning) as caught:
        llm.complete(case)
        llm.complete(case)  # the same settings: said once
        llm.complete(case, max_tokens=7)  # other settings: said too
    assert [str(w.message) for w in caught] == [
        "llm.complete outside an eval suite: max_tokens=256, temperature=0.0, top_p=1.0, seed=None, "
        "stop=[], samples=1 (the defaults, with what the call passed); mark the test "
        "@pytest.mark.llmeval(...) to set them for a suite",
        "llm.complete outside an eval suite: max_tokens=7, temperature=0.0, top_p=1.0, seed=None, "
        "stop=[], samples=1 (the defaults, with what the call passed); mark the test "
        "@pytest.mark.llmeval(...) to set them for a suite",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm.complete(case)  # nothing new to say
        with running(in_suite(case)):
            llm.complete(case)  # a suite's marker chose the settings


def test_complete_choose_and_perplexity_record_into_the_running_case_only() -> None:
    case = Case(id="c", prompt="q", choices=("A", "B"), answer=1, expected="B")
    other = Case(id="other", prompt="few-shot", choices=("A", "B"), answer=0)
    llm = LLM(scripted({" A": -2.0, " B": -1.0}))
    with running(in_suite(case, GenerationSpec())) as active:
        llm.complete(other)
        llm.choose(other)
        llm.perplexity(other)
        assert (active.output, active.scores, active.samples) == (None, {}, ())
        llm.choose(case)
        assert active.output == "B" and active.scores == {"acc": 1.0, "acc_norm": 1.0}
        llm.perplexity(case)
        assert active.scores["rolling_logprob"] == -1.0 and active.scores["rolling_bytes"] == 1.0
        assert llm.complete(case) == "q#0" and active.output == "q#0"


def test_generate_or_chat_of_the_running_cases_own_input_points_to_complete() -> None:
    prompt_case = Case(id="p", prompt="Say hi")
    chat_case = Case(id="m", messages=({"role": "user", "content": "Say hi"},))
    llm = LLM(scripted())
    for case, call in [
        (prompt_case, lambda: llm.generate("Say hi")),
        (prompt_case, lambda: llm.generate(["other", "Say hi"], max_tokens=3)),
        (chat_case, lambda: llm.chat([{"role": "user", "content": "Say hi"}])),
        (chat_case, lambda: llm.chat("Say hi")),  # the same conversation, written short
    ]:
        with running(in_suite(case, GenerationSpec())) as active, pytest.raises(SuiteError) as error:
            call()
        what = "prompt" if case is prompt_case else "messages"
        assert f"the running case's own {what} (case {case.id!r} of eval suite 's')" in str(error.value)
        assert "nothing to score" in str(error.value) and "Use llm.complete(case)" in str(error.value)
        assert active.output is None
    with running(in_suite(prompt_case, GenerationSpec())) as active:
        # Other prompts, and the prompt through the chat template, are the test's own business.
        assert llm.generate("Say bye") == "Say bye#0" and llm.chat("Say hi") == "Say hi#0"
        assert active.output is None
    assert llm.generate("Say hi") == "Say hi#0"  # outside a suite there is no case to answer
