"""``judged``: a second model grades the output against a rubric and answers with a JSON verdict."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from .result import CheckResult, text_of


class Verdict(BaseModel):
    """What the judge must answer; also the JSON Schema its decoding is held to where the backend can."""

    passed: bool
    score: float = Field(ge=0, le=10)
    reason: str


class JudgeModel(Protocol):
    """The ``judge`` fixture (an ``LLM``) or anything that chats the same way."""

    def chat(self, messages: str, **spec: object) -> str: ...


PROMPT = """You are grading an AI assistant's answer. Follow the rubric strictly.

Rubric: {rubric}
{question}
Answer to grade:
<<<
{output}
>>>

Reply with one JSON object and nothing else, in this form:
{{"passed": true or false, "score": a number from 0 (worst) to 10 (best), "reason": "one short sentence"}}"""


def judged(
    output: str,
    rubric: str,
    *,
    judge: JudgeModel,
    question: str | None = None,
    min_score: float | None = None,
    max_tokens: int = 256,
) -> CheckResult:
    """The judge model's verdict on ``output`` under ``rubric``.

    The judge answers greedily with ``{"passed", "score", "reason"}``; on backends with
    structured output (vllm, openai) decoding is constrained to that schema, elsewhere the
    first JSON object in the reply is read. With ``min_score`` the score (0-10) decides instead of
    the judge's yes/no. A reply that holds no valid verdict fails the check and shows the reply,
    so a weak judge is visible rather than silently lenient.
    """
    output = text_of(output, "judged")
    if not rubric.strip():
        raise ValueError("judged: the rubric is empty; say what a good answer must do")
    if min_score is not None and not 0 <= min_score <= 10:
        raise ValueError(f"judged: min_score must be in [0, 10], got {min_score}")
    prompt = PROMPT.format(
        rubric=rubric.strip(),
        question=f"Question: {question.strip()}\n" if question else "",
        output=output,
    )
    backend = getattr(getattr(judge, "info", None), "backend", "")
    structured = {"schema": Verdict} if backend in ("vllm", "openai") else {}
    reply = str(judge.chat(prompt, max_tokens=max_tokens, temperature=0.0, **structured))
    verdict = parse_verdict(reply)
    if isinstance(verdict, str):
        return CheckResult(
            "judged", False, f"the judge gave no usable verdict ({verdict})", 0.0, (reply[:200],)
        )
    passed = verdict.passed if min_score is None else verdict.score >= min_score
    rule = "" if min_score is None else f" (needs >= {min_score:g})"
    reason = f"judge: {'pass' if passed else 'fail'}, score {verdict.score:g}/10{rule}: {verdict.reason}"
    return CheckResult("judged", passed, reason, verdict.score / 10, () if passed else (output[:200],))


def parse_verdict(reply: str) -> Verdict | str:
    """The verdict in ``reply`` (the first JSON object, fenced or in prose), or why there is none."""
    from .format import json as json_check

    result = json_check(reply, schema=Verdict)
    if result.passed and isinstance(result.value, Verdict):
        return result.value
    return result.reason
