"""One judge protocol: every check that asks a second model builds its prompt, asks and reads the
verdict here.

A judge is anything that chats like an ``LLM`` (the ``judge`` fixture). The verdict is a pydantic
model; where the judge's engine declares structured output (``EngineInfo.structured_output``) its
decoding is held to the verdict's JSON Schema, elsewhere the first JSON value of the reply that
validates is read. ``samples=K`` asks K times (sampled, seeded) and decides by majority, reporting
how many judges agree. ``judged(..., scoring="logprobs")`` reads no reply at all: it scores G-Eval
style, the expected score under the judge's probabilities of the score tokens, via
``loglikelihood``; deterministic, and it needs an engine that declares logprobs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field, ValidationError

from .evidence import EVIDENCE_CHARS, shorten
from .jsontext import answers, json_candidates
from .result import CheckResult, text_of

Model = TypeVar("Model", bound=BaseModel)
Scoring = Literal["verdict", "logprobs"]
SCORINGS: tuple[str, ...] = ("verdict", "logprobs")
SAMPLE_TEMPERATURE = 0.7  # several judges must be able to disagree; hotter makes a small judge babble


class JudgeModel(Protocol):
    """The ``judge`` fixture (an ``LLM``) or anything that chats the same way."""

    def chat(self, messages: str, **spec: Any) -> Any: ...


class Verdict(BaseModel):
    """A grade against a rubric; also the JSON Schema the judge's decoding is held to."""

    passed: bool
    score: float = Field(ge=0, le=10)
    reason: str


def supports(judge: object, capability: str) -> bool:
    """Whether the judge's engine declares ``capability`` ("structured_output", "logprobs")."""
    return getattr(getattr(judge, "info", None), capability, False) is True


def build_prompt(task: str, sections: Sequence[tuple[str, str]], reply: str) -> str:
    """The one way a judge is asked: the task, each section as a label and its text between
    <<< and >>> (so an answer cannot pass itself off as instructions), then the reply's form."""
    parts = [task.strip(), ""]
    for label, text in sections:
        parts += [f"{label}:", "<<<", text.strip(), ">>>", ""]
    parts.append(reply.strip())
    return "\n".join(parts)


def parse_verdict(reply: str, schema: type[Model]) -> Model | str:
    """The one valid ``schema`` among the JSON values ``reply`` offers as its answer (whole, else
    fenced, else in prose), or why there is none. Two different verdicts are no verdict: a reply
    may quote one planted in the answer it grades before giving its own."""
    found, failed = json_candidates(reply)
    problem = f"no JSON in the reply: {shorten(' '.join(reply.split()), 160)!r}"
    if failed:
        problem = f"the reply's JSON does not parse ({failed[0].error}): {shorten(failed[0].span, 160)!r}"
    verdicts: list[Model] = []
    for candidate in answers(found):
        try:
            verdicts.append(schema.model_validate(candidate.value))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the value"
            problem = f"the reply's JSON is not a verdict: {where}: {first['msg']}"
    if len({verdict.model_dump_json() for verdict in verdicts}) > 1:
        return f"the reply holds {len(verdicts)} different verdicts"
    return verdicts[0] if verdicts else problem


@dataclass(frozen=True)
class Ballot(Generic[Model]):
    """What K judges answered: the readable verdicts, and each unreadable reply with why."""

    verdicts: tuple[Model, ...]
    unreadable: tuple[tuple[str, str], ...]  # (reply, why it holds no verdict)
    structured: bool

    def describe_unreadable(self) -> str:
        return self.unreadable[0][1]


def ask(
    judge: JudgeModel, prompt: str, schema: type[Model], *, samples: int = 1, max_tokens: int = 256
) -> Ballot[Model]:
    """Ask ``judge`` for ``samples`` verdicts of type ``schema``: greedy for one, sampled with a
    fixed seed for more (so a rerun asks the same and the response cache answers it)."""
    structured = supports(judge, "structured_output")
    spec: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.0}
    if samples > 1:
        spec.update(temperature=SAMPLE_TEMPERATURE, n=samples, seed=0)
    if structured:
        spec["schema"] = schema
    reply = judge.chat(prompt, **spec)
    replies = getattr(reply, "samples", None) or (reply,)
    verdicts: list[Model] = []
    unreadable: list[tuple[str, str]] = []
    for one in replies:
        if not isinstance(one, str):
            unreadable.append(("", f"the judge returned {type(one).__name__}, not text"))
            continue
        verdict = parse_verdict(one, schema) if one.strip() else "the judge's reply is empty"
        if isinstance(verdict, str):
            unreadable.append((one, verdict))
        else:
            verdicts.append(verdict)
    return Ballot(tuple(verdicts), tuple(unreadable), structured)


def check_samples(name: str, samples: int) -> None:
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"{name}: samples must be a whole number of at least 1, got {samples!r}")


# ---------------------------------------------------------------------------------------------
# judged(): a grade against a rubric

_TASK = "You are grading an AI assistant's answer. Follow the rubric strictly."
_REPLY = (
    "Reply with one JSON object and nothing else, in this form:\n"
    '{"passed": true or false, "score": a number from 0 (worst) to 10 (best), "reason": "one short sentence"}'
)
_SCORE_REPLY = "Grade the answer from 0 (worst) to 10 (best) under the rubric. Reply with the number only."
SCORE_PROMPT_END = "\nScore (0-10):"
SCORES = tuple(range(11))


def judged(
    output: str,
    rubric: str,
    *,
    judge: JudgeModel,
    question: str | None = None,
    min_score: float | None = None,
    max_tokens: int = 256,
    samples: int = 1,
    scoring: Scoring = "verdict",
) -> CheckResult:
    """The judge model's verdict on ``output`` under ``rubric``.

    ``scoring="verdict"``: the judge answers ``{"passed", "score", "reason"}``; the majority of
    ``samples`` verdicts decides (a tie cannot), or with ``min_score`` their mean score (0-10).
    ``scoring="logprobs"``: the expected score under the judge's probabilities of "0" to "10"
    after the prompt (G-Eval), passing at ``min_score`` (5 when not given). A reply without a
    verdict fails the check and shows the reply, so a weak judge is visible, never lenient.
    """
    output = text_of(output, "judged")
    if not isinstance(rubric, str) or not rubric.strip():
        raise ValueError("judged: the rubric is empty; say what a good answer must do")
    if min_score is not None and not 0 <= min_score <= 10:
        raise ValueError(f"judged: min_score must be in [0, 10], got {min_score}")
    if scoring not in SCORINGS:
        raise ValueError(f"judged: scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    check_samples("judged", samples)
    if scoring == "logprobs" and samples != 1:
        raise ValueError("judged: scoring='logprobs' is deterministic; samples does not apply")
    sections = [
        ("Rubric", rubric),
        *([("Question", question)] if question else []),
        ("Answer to grade", output),
    ]
    if scoring == "logprobs":
        return _judged_by_logprobs(output, judge, build_prompt(_TASK, sections, _SCORE_REPLY), min_score)
    ballot = ask(
        judge, build_prompt(_TASK, sections, _REPLY), Verdict, samples=samples, max_tokens=max_tokens
    )
    return _judged_by_votes(output, ballot, samples, min_score)


def _judged_by_votes(
    output: str, ballot: Ballot[Verdict], samples: int, min_score: float | None
) -> CheckResult:
    evidence = (output[:200],)
    if not ballot.verdicts:
        why = ballot.describe_unreadable()
        shown = ballot.unreadable[0][0][:200]
        return CheckResult("judged", False, f"the judge gave no usable verdict ({why})", 0.0, (shown,))
    verdicts = ballot.verdicts
    mean = sum(v.score for v in verdicts) / len(verdicts)
    if min_score is not None:
        votes = [v.score >= min_score for v in verdicts]
        passed = mean >= min_score
    else:
        votes = [v.passed for v in verdicts]
        yes = sum(votes)
        if 2 * yes == len(votes):
            reason = f"could not decide: the judges split {yes}-{len(votes) - yes}"
            return CheckResult("judged", False, reason + _unread(ballot), mean / 10, evidence)
        passed = 2 * yes > len(votes)
    agree = sum(1 for vote in votes if vote == passed)
    first = next((v for v, vote in zip(verdicts, votes, strict=True) if vote == passed), verdicts[0])
    rule = "" if min_score is None else f" (needs >= {min_score:g})"
    score = f"score {verdicts[0].score:g}/10" if len(verdicts) == 1 else f"mean score {mean:.3g}/10"
    panel = f", {agree} of {len(verdicts)} judges agree" if samples > 1 else ""
    reason = f"judge: {'pass' if passed else 'fail'}, {score}{rule}{panel}: {first.reason}" + _unread(ballot)
    return CheckResult("judged", passed, reason, mean / 10, () if passed else evidence)


def _unread(ballot: Ballot[Any]) -> str:
    if not ballot.unreadable:
        return ""
    total = len(ballot.unreadable) + len(ballot.verdicts)
    return f" ({len(ballot.unreadable)} of {total} replies held no verdict: {ballot.describe_unreadable()})"


def _judged_by_logprobs(output: str, judge: object, prompt: str, min_score: float | None) -> CheckResult:
    bound = 5.0 if min_score is None else min_score
    loglikelihood = getattr(judge, "loglikelihood", None)
    if not supports(judge, "logprobs") or loglikelihood is None:
        reason = "could not check: scoring='logprobs' needs a judge whose engine declares logprobs"
        return CheckResult("judged", False, reason, 0.0, ())
    context = prompt + SCORE_PROMPT_END
    results = loglikelihood([(context, f" {score}") for score in SCORES])
    logprobs = [float(r.logprob) for r in results]
    top = max(logprobs)
    if not math.isfinite(top):
        return CheckResult("judged", False, "could not check: every score has probability 0", 0.0, ())
    prefixed = [math.exp(lp - top) for lp in logprobs]
    # P(" 1") is the chance the reply *starts* with " 1", which includes " 10": each score keeps
    # only its own mass (once a judge that meant 10 gave half of it to 1).
    weights = [
        max(
            0.0,
            prefixed[i]
            - sum(prefixed[j] for j, t in enumerate(SCORES) if t != s and str(t).startswith(str(s))),
        )
        for i, s in enumerate(SCORES)
    ]
    total = sum(weights)
    if total <= 0.0:
        return CheckResult("judged", False, "could not check: no score has probability of its own", 0.0, ())
    expected = sum(w * s for w, s in zip(weights, SCORES, strict=True)) / total
    likeliest = max(SCORES, key=lambda s: weights[s])
    passed = expected >= bound
    reason = (
        f"judge (logprobs): {'pass' if passed else 'fail'}, expected score {expected:.2f}/10 "
        f"(needs >= {bound:g}); most likely {likeliest} (p={weights[likeliest] / total:.2f})"
    )
    return CheckResult("judged", passed, reason, expected / 10, () if passed else (output[:EVIDENCE_CHARS],))
