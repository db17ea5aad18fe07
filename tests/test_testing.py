"""pytest_llmeval.testing: the public scripted engine users test their fixtures and checks with."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_llmeval import LLM, Engine, EngineError, expect
from pytest_llmeval.engine.types import (
    Completion,
    GenerationRequest,
    GenerationResult,
    GenerationSpec,
    LoglikelihoodRequest,
    RollingResult,
)
from pytest_llmeval.testing import ScriptedEngine, prompt_text


def test_it_is_an_engine_and_answers_by_prompt_with_a_default() -> None:
    engine = ScriptedEngine({"What is 2+2?": "4", "Capital of France?": "Paris"}, default="I don't know")
    assert isinstance(engine, Engine)
    llm = LLM(engine)
    assert llm.generate("What is 2+2?") == "4"
    assert llm.chat("Capital of France?") == "Paris"  # a chat request is looked up by its last message
    assert llm.generate("Who are you?") == "I don't know"
    assert engine.prompts == ["What is 2+2?", "Capital of France?", "Who are you?"]
    assert engine.requests[1].messages == ({"role": "user", "content": "Capital of France?"},)


def test_an_unscripted_prompt_without_a_default_is_an_error_that_names_it() -> None:
    llm = LLM(ScriptedEngine({"a": "b"}))
    with pytest.raises(
        EngineError, match=r"no answer scripted for 'c' and no default= \(scripted prompts: \['a'\]\)"
    ):
        llm.generate("c")
    with pytest.raises(EngineError, match=r"no answer scripted for 'c' .*\(a function\)"):
        LLM(ScriptedEngine(lambda request: None)).generate("c")


def test_a_function_of_the_request_answers_and_sees_its_settings() -> None:
    def answer(request: GenerationRequest) -> str:
        return f"{prompt_text(request).upper()} at t={request.spec.temperature}"

    llm = LLM(ScriptedEngine(answer))
    assert llm.generate(["a", "b"], temperature=0.5) == ["A at t=0.5", "B at t=0.5"]


def test_string_answers_honour_stop_max_tokens_and_samples() -> None:
    llm = LLM(ScriptedEngine({"q": "one two three\nfour", "s": ["x", "y"]}))
    stopped = llm.generate("q", stop="\n")
    assert (stopped, stopped.finish_reason, stopped.completion_tokens) == ("one two three", "stop", 3)
    cut = llm.generate("q", max_tokens=2)
    assert (cut, cut.finish_reason, cut.completion_tokens) == ("one two", "length", 2)
    assert llm.generate("q").prompt_tokens == 1
    assert llm.generate("s", n=3, temperature=1.0).samples == ("x", "y", "x")  # one text per sample, cycled
    assert llm.generate("q", n=2, temperature=1.0).samples == ("one two three\nfour",) * 2


def test_completions_and_whole_results_are_returned_as_they_are() -> None:
    whole = GenerationResult((Completion("half", "length", 30),), prompt_tokens=99)
    engine = ScriptedEngine({"r": whole, "c": Completion("done", "stop", 7)})
    llm = LLM(engine)
    assert llm.generate("r").result == whole
    out = llm.generate("c")
    assert (out, out.completion_tokens, out.finish_reason) == ("done", 7, "stop")
    with pytest.raises(EngineError, match="an answer is a str or a non-empty list of str"):
        LLM(ScriptedEngine(default=[])).generate("x")


def test_loglikelihoods_by_continuation_by_pair_or_by_function() -> None:
    engine = ScriptedEngine(loglikelihoods={" yes": -1.0, " no": -3.0, ("Is it?", " no"): -0.5})
    llm = LLM(engine)
    assert llm.choose("Sure?", ["yes", "no"]).choice == "yes"
    assert llm.choose("Is it?", ["yes", "no"]).choice == "no"  # the pair wins over the continuation
    assert engine.loglikelihood_requests[-1] == LoglikelihoodRequest("Is it?", " no")
    with pytest.raises(EngineError, match=r"no loglikelihood scripted for continuation ' maybe' after 'Q'"):
        llm.loglikelihood("Q", " maybe")
    by_length = LLM(ScriptedEngine(loglikelihoods=lambda r: -float(len(r.continuation))))
    assert by_length.loglikelihood("Q", " four").logprob == -5.0


def test_rolling_loglikelihood_scores_a_nat_per_word_unless_scripted() -> None:
    assert LLM(ScriptedEngine()).perplexity("a b c").logprob == -3.0
    scripted = ScriptedEngine(rolling={"a b": -1.0, "whole": RollingResult(-2.0, 4, 1, 5)})
    llm = LLM(scripted)
    assert (llm.perplexity("a b").logprob, llm.perplexity("whole").num_tokens) == (-1.0, 4)
    assert scripted.rolling_texts == ["a b", "whole"]
    with pytest.raises(EngineError, match="no rolling logprob scripted for 'other'"):
        llm.perplexity("other")


def test_capabilities_are_declared_and_held_to() -> None:
    plain = ScriptedEngine(default="{}", structured_output=False, logprobs=False, model="tiny")
    assert (plain.info.structured_output, plain.info.logprobs, plain.info.model) == (False, False, "tiny")
    llm = LLM(plain)
    with pytest.raises(EngineError, match="declares no structured output"):
        llm.generate("x", schema={"type": "object"})
    with pytest.raises(EngineError, match="declares no logprobs"):
        llm.loglikelihood("x", " y")
    with pytest.raises(EngineError, match="declares no logprobs"):
        llm.perplexity("x")
    able = ScriptedEngine(default='{"a": 1}')
    assert (able.info.structured_output, able.info.logprobs) == (True, True)
    assert expect(LLM(able).generate("x", schema={"type": "object"})).json() == {"a": 1}


def test_a_table_script_has_a_stable_fingerprint_and_each_script_its_own() -> None:
    assert ScriptedEngine({"a": "b"}).info.fingerprint() == ScriptedEngine({"a": "b"}).info.fingerprint()
    assert ScriptedEngine({"a": "b"}).info.fingerprint() != ScriptedEngine({"a": "c"}).info.fingerprint()


def test_every_call_is_recorded_in_order() -> None:
    engine = ScriptedEngine(default="ok", loglikelihoods={" x": -1.0})
    llm = LLM(engine)
    llm.generate(["p", "q"], max_tokens=3)
    llm.loglikelihood("c", " x")
    llm.perplexity("t")
    engine.close()
    assert [len(b) for b in engine.batches] == [2, 1, 1]
    assert engine.requests[0] == GenerationRequest(prompt="p", spec=GenerationSpec(max_tokens=3))
    assert engine.batches[1] == [LoglikelihoodRequest("c", " x")] and engine.batches[2] == ["t"]
    assert engine.closed


def test_importing_it_loads_no_torch_or_vllm() -> None:
    code = "import sys, pytest_llmeval.testing; print(sorted({'torch', 'vllm'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_users_suite_runs_on_it_through_the_llm_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from pytest_llmeval import LLM
        from pytest_llmeval.testing import ScriptedEngine

        ENGINE = ScriptedEngine({"2+2=": "4", "3+3=": "7"})

        @pytest.fixture(scope="session")
        def llm():
            return LLM(ENGINE)
        """
    )
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case, expect
        from conftest import ENGINE

        CASES = [Case(id="two", prompt="2+2=", expected="4"), Case(id="three", prompt="3+3=", expected="6")]

        @pytest.mark.llmeval(max_tokens=5, metrics=["exact_match"])
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_sums(llm, case):
            expect(llm.complete(case)).number(case.expected)

        def test_what_was_asked():
            assert ENGINE.prompts == ["2+2=", "3+3="]
            assert {r.spec.max_tokens for r in ENGINE.requests} == {5}
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines(["sums  2 cases  pass 0.500 * exact_match 0.500 *"])
