"""The llm fixture's API over an engine. A scripted engine stands in where only plumbing is tested."""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence

import pytest

from pytest_llmeval.engine.types import (
    Completion,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingResult,
)
from pytest_llmeval.llm import LLM, Output


class ScriptedEngine:
    """Answers from fixed tables and records every batch it was given."""

    def __init__(self, logprobs: dict[str, float] | None = None) -> None:
        self.logprobs = logprobs or {}
        self.batches: list[list[object]] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("scripted", "m", "h", "float32", "cpu", "t", "c", 128)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.batches.append(list(requests))
        results = []
        for r in requests:
            text = r.prompt if r.prompt is not None else r.messages[-1]["content"]  # type: ignore[index]
            samples = tuple(Completion(f"{text}#{i}", "stop", i + 1) for i in range(r.spec.n))
            results.append(GenerationResult(samples, prompt_tokens=len(text)))
        return results

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        self.batches.append(list(requests))
        return [LoglikelihoodResult(self.logprobs[r.continuation], False, 1) for r in requests]

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        self.batches.append(list(texts))
        return [RollingResult(-float(len(t)), len(t), 1, len(t)) for t in texts]

    def close(self) -> None:
        pass


def test_one_prompt_gives_one_output_a_list_gives_a_list_in_one_batch() -> None:
    engine = ScriptedEngine()
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
    llm = LLM(ScriptedEngine())
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

    engine = ScriptedEngine()
    llm = LLM(engine)
    llm.chat("Bob, 42", schema=Person)
    llm.generate("Bob, 42", schema={"type": "object", "required": ["age"]})
    from_model, from_dict = (batch[0].spec.json_schema for batch in engine.batches)  # type: ignore[attr-defined]
    assert json.loads(from_model)["required"] == ["name", "age"]
    assert from_dict == '{"required":["age"],"type":"object"}'


def test_resample_asks_the_same_request_for_fresh_seeded_samples() -> None:
    engine = ScriptedEngine()
    llm = LLM(engine)
    out = llm.generate("q", max_tokens=7)
    assert llm.resample(out, 3) == ("q#0", "q#1", "q#2")
    spec = engine.batches[-1][0].spec  # type: ignore[attr-defined]
    assert (spec.n, spec.temperature, spec.seed, spec.max_tokens) == (3, 1.0, 0, 7)
    with pytest.raises(EngineError, match="does not know which model wrote it"):
        llm.resample(Output(out.result), 2)


def test_output_survives_pickling() -> None:
    out = LLM(ScriptedEngine()).generate("p", n=2, temperature=1.0)
    again = pickle.loads(pickle.dumps(out))
    assert again == out and again.samples == out.samples and again.finish_reason == out.finish_reason


def test_choose_follows_lm_eval_acc_and_acc_norm() -> None:
    # " no" is likelier in total, " certainly" per character: acc and acc_norm disagree on purpose.
    engine = ScriptedEngine({" no": -2.0, " certainly": -8.0})
    choice = LLM(engine).choose("Is it?", ["no", "certainly"])
    assert (choice.index, choice.index_norm, choice.choice) == (0, 1, "no")
    assert engine.batches[0] == [
        LoglikelihoodRequest("Is it?", " no"),
        LoglikelihoodRequest("Is it?", " certainly"),
    ]


def test_choose_batches_every_prompt_and_choice_together() -> None:
    engine = ScriptedEngine({" A": -1.0, " B": -0.5, " C": -3.0})
    answers = LLM(engine).choose(["q1", "q2"], [["A", "B"], ["A", "C"]])
    assert [a.choice for a in answers] == ["B", "A"]
    assert len(engine.batches) == 1 and len(engine.batches[0]) == 4


def test_perplexity_and_loglikelihood_shapes() -> None:
    engine = ScriptedEngine({" x": -1.5})
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
        call(LLM(ScriptedEngine()))  # type: ignore[operator]
