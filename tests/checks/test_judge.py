"""judged(): the prompt a judge sees, how its verdict is read, and a real judge on vLLM."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pytest_llmeval.checks import judged
from pytest_llmeval.engine.types import EngineInfo


@dataclass
class ScriptedJudge:
    """Replies with a fixed text and keeps what it was asked: enough to test the parsing."""

    reply: str
    backend: str = "transformers"
    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(self.backend, "judge", "h", "float32", "cpu", "t", "c", 512)

    def chat(self, messages: str, **spec: object) -> str:
        self.calls.append((messages, spec))
        return self.reply


def test_the_judge_sees_rubric_question_and_answer_and_its_verdict_decides() -> None:
    judge = ScriptedJudge('Sure.\n```json\n{"passed": true, "score": 8, "reason": "names Paris"}\n```')
    result = judged("Paris.", "Must name Paris.", judge=judge, question="Capital of France?")
    assert result.passed and result.score == 0.8
    assert result.reason == "judge: pass, score 8/10: names Paris"
    prompt, spec = judge.calls[0]
    assert "Rubric: Must name Paris." in prompt and "Question: Capital of France?" in prompt
    assert "<<<\nParis.\n>>>" in prompt
    assert spec == {"max_tokens": 256, "temperature": 0.0}  # no schema: transformers cannot constrain


def test_min_score_overrides_the_judges_yes() -> None:
    judge = ScriptedJudge('{"passed": true, "score": 5, "reason": "vague"}')
    result = judged("Somewhere in Europe.", "Must name Paris.", judge=judge, min_score=7)
    assert not result.passed
    assert result.reason == "judge: fail, score 5/10 (needs >= 7): vague"
    assert result.evidence == ("Somewhere in Europe.",)


def test_structured_output_is_asked_for_where_the_backend_can_constrain_decoding() -> None:
    judge = ScriptedJudge('{"passed": false, "score": 1, "reason": "wrong city"}', backend="vllm")
    assert not judged("Rome.", "Must name Paris.", judge=judge).passed
    schema = judge.calls[0][1]["schema"]
    assert getattr(schema, "__name__", None) == "Verdict"


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("I think it is good.", "no JSON value in 'I think it is good.'"),
        ('{"passed": "maybe", "score": 11}', "score: Input should be less than or equal to 10"),
    ],
)
def test_a_reply_without_a_valid_verdict_fails_and_shows_the_reply(reply: str, shown: str) -> None:
    result = judged("Paris.", "Must name Paris.", judge=ScriptedJudge(reply))
    assert not result.passed and result.reason.startswith("the judge gave no usable verdict")
    assert shown in result.reason and result.evidence == (reply,)


def test_bad_options_are_refused_before_the_judge_is_asked() -> None:
    judge = ScriptedJudge("{}")
    with pytest.raises(ValueError, match="the rubric is empty"):
        judged("x", "  ", judge=judge)
    with pytest.raises(ValueError, match=r"min_score must be in \[0, 10\]"):
        judged("x", "rubric", judge=judge, min_score=70)
    assert judge.calls == []


@pytest.mark.slow
def test_a_real_judge_on_vllm_answers_with_a_verdict_that_parses(smollm2_vllm: object) -> None:
    # SmolLM2-135M is too small to judge well, but with structured output its reply always
    # parses, so this checks the whole path (prompt, schema, decoding, parsing) on a real engine.
    from pytest_llmeval.llm import LLM

    judge = LLM(smollm2_vllm)  # type: ignore[arg-type]
    result = judged("The capital of France is Paris.", "Must name Paris as the capital.", judge=judge)
    assert result.reason.startswith(("judge: pass, score ", "judge: fail, score ")), result.reason
    assert 0.0 <= result.score <= 1.0
