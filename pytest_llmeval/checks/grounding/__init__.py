"""Hallucination checks: does the output say only what its source text (or its other samples) says?

``grounded_in`` splits the output into claims (sentences and clauses) and finds in each the facts a
reader can check against the source: numbers (digits, number words, money, percentages), dates,
names and quoted strings. A fact is supported when the source states it, or, for numbers, when it
is the correct result of arithmetic the output shows (``16 - 3 - 4 = 9``). With ``one_step=True``
a number one unshown step (a + b, a - b, a * b, a / b) from a number the source states or the
output wrote just before passes too ("she uses 7 of her 16 eggs, so 9 are left"): that accepts
worked answers that skip a step, at the price that a made-up number one step away (12 = 16 - 4)
passes as well, so it is off by default. A number that puts a different value into a relation
the context states ("4 years older than Drew", "$15 per hour", "the shirt costs $5") is not
supported even when the context writes that value elsewhere. Operands follow the same rules; a
wrong result is reported with the value the arithmetic gives, and a right result of a made-up
operand is not reported again (the operand is). Stronger, slower methods use an NLI model or a
judge model on whole claims.

The package reads in steps: ``lexing`` (words and numbers), ``arithmetic`` (shown equations),
``reading`` (claims and facts), ``relations`` (the relations a context states), ``proportions``
(the rates it gives between units), ``phrases`` (its numbers by the words and numbers around them),
``verdict`` (each fact against the source, and the result); ``nli`` and ``judge`` are the other
methods.

``consistent`` is the SelfCheckGPT idea: a claim that other samples of the same model do not
repeat is likely made up.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from ..evidence import one_line
from ..judge import JudgeModel, check_samples
from ..result import CheckResult, refusal, text_of
from .judge import Unsupported, _grounded_by_judge, judge_prompt
from .lexing import _bare
from .nli import _grounded_by_nli
from .reading import _check_share, _content_words, _context_text, _read, _Reading, claims_of
from .verdict import _EVIDENCE_ITEMS, _REASON_ITEMS, _facts_result, _judge, _window

__all__ = [
    "METHODS",
    "Method",
    "Unsupported",
    "claims_of",
    "consistent",
    "grounded_in",
    "judge_prompt",
]

Method = Literal["facts", "nli", "judge"]
METHODS: tuple[str, ...] = ("facts", "nli", "judge")


# ---------------------------------------------------------------------------------------------
# The checks


def grounded_in(
    output: str,
    context: str,
    *,
    method: Method = "facts",
    min_supported: float = 1.0,
    nli_model: str | os.PathLike[str] | None = None,
    min_entailment: float = 0.5,
    judge: JudgeModel | None = None,
    judge_max_tokens: int = 256,
    judge_samples: int = 1,
    one_step: bool = False,
) -> CheckResult:
    """Every checkable fact (or, with ``nli``/``judge``, every claim) of the output is backed by ``context``.

        ``method="facts"`` (default) matches numbers, dates, names and quotes and checks shown arithmetic;
        ``"nli"`` asks a Hugging Face NLI model (``nli_model``, a name or folder) whether the context
        entails each claim; ``"judge"`` asks the judge model (the ``judge`` fixture, through the one
    judge protocol of ``checks.judge``) which claims are unsupported, ``judge_samples`` times. The check
        passes when the share of supported facts or claims (the score) is at least ``min_supported``.

        With ``facts``, a number is supported when the context states it or the output shows the
        arithmetic that derives it. ``one_step=True`` also accepts a number one unshown step
        (a + b, a - b, a * b, a / b) from the context's numbers or the output's numbers just before
        ("she used 7 of her 16 eggs, so 9 are left"): worked answers that skip a step pass, and so does
        a made-up number that happens to be one step away (12 = 16 - 4).
    """
    output = text_of(output, "grounded_in")
    context = _context_text(context)
    if method not in METHODS:
        raise ValueError(f"grounded_in: method must be one of {', '.join(METHODS)}, got {method!r}")
    _check_share("min_supported", min_supported)
    if nli_model is not None and method != "nli":
        raise ValueError("grounded_in: nli_model is only used with method='nli'")
    if (judge is not None or judge_samples != 1) and method != "judge":
        raise ValueError("grounded_in: judge and judge_samples are only used with method='judge'")
    if one_step and method != "facts":
        raise ValueError("grounded_in: one_step is only used with method='facts'")
    if (
        refused := refusal("grounded_in", len(output) + len(context), "the output with its context")
    ) is not None:
        return refused
    if method == "nli":
        if nli_model is None:
            raise ValueError(
                "grounded_in: method='nli' needs nli_model=, a Hugging Face NLI model name or folder"
            )
        _check_share("min_entailment", min_entailment)
        return _grounded_by_nli(output, context, os.fspath(nli_model), min_entailment, min_supported)
    if method == "judge":
        if judge is None or not callable(getattr(judge, "chat", None)):
            raise ValueError(
                "grounded_in: method='judge' needs judge=, a model that chats (the judge fixture)"
            )
        if judge_max_tokens < 1:
            raise ValueError(f"grounded_in: judge_max_tokens must be at least 1, got {judge_max_tokens}")
        check_samples("grounded_in", judge_samples)
        return _grounded_by_judge(output, context, judge, judge_max_tokens, min_supported, judge_samples)
    # Reading a megabyte allocates about a million objects, none in a cycle, and the cycle
    # collector would walk all of them again and again as they pile up: a third of the time on a
    # long output. It is paused while the work runs in a call of its own, so that the objects are
    # freed by reference counting before it resumes.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _grounded_by_facts(output, context, min_supported, one_step)
    finally:
        if collecting:
            gc.enable()


def _grounded_by_facts(output: str, context: str, min_supported: float, one_step: bool) -> CheckResult:
    reading = _read(output)
    judged = _judge(reading, _source(context), one_step=one_step)
    return _facts_result("grounded_in", reading, judged, min_supported)


@lru_cache(maxsize=16)
def _source(context: str) -> _Reading:
    """The reading of a context, kept because a suite checks many outputs against the same one, and
    on short outputs reading the context is a good part of the work. Nothing changes a reading once
    made (``_judge`` only looks at it), so sharing it is safe."""
    return _read(context, for_source=True)


def consistent(output: str, samples: Sequence[str], *, min_agreement: float = 0.5) -> CheckResult:
    """Each claim of ``output`` is backed by at least ``min_agreement`` of ``samples`` (SelfCheckGPT-style).

    ``samples`` are other answers the same model gave to the same prompt. A sample backs a claim
    when it supports every fact of the claim and shares at least half of its content words. The
    score is the share of claims the samples back.
    """
    output = text_of(output, "consistent")
    if isinstance(samples, str | bytes) or not isinstance(samples, Sequence):
        raise ValueError("consistent: samples must be a list of other answers (strings), not one string")
    if not samples:
        raise ValueError("consistent: samples is empty; sample the model more than once")
    texts = [text_of(sample, "consistent (a sample)") for sample in samples]
    _check_share("min_agreement", min_agreement)
    size = len(output) + sum(map(len, texts))
    if (refused := refusal("consistent", size, "the output with its samples")) is not None:
        return refused
    reading = _read(output)
    claim_words = [_content_words(output[start:end]) for start, end in reading.claims]
    claims = [(i, span) for i, span in enumerate(reading.claims) if claim_words[i]]
    if not claims:
        return CheckResult("consistent", True, "no claims to compare in the output", 1.0, ())
    backing = [0] * len(reading.claims)
    for sample in texts:
        source = _read(sample, for_source=True)
        unsupported = {fact.claim for fact in _judge(reading, source) if not fact.supported}
        sample_words = {_bare(w) for w in source.words}
        for index, _ in claims:
            # Numbers are judged as facts, above; the words are what the sample must share. A claim
            # that is only numbers ("The answer is 120.") is backed by its facts alone.
            words = {w for w in claim_words[index] if not w.isdigit()}
            overlap = len(words & sample_words) / len(words) if words else 1.0
            if index not in unsupported and overlap >= 0.5:
                backing[index] += 1
    weak = [(i, span) for i, span in claims if backing[i] / len(texts) < min_agreement]
    score = 1.0 - len(weak) / len(claims)
    if not weak:
        reason = (
            f"all {len(claims)} claims are backed by at least {min_agreement:.0%} of {len(texts)} samples"
        )
        return CheckResult("consistent", True, reason, score, ())
    items = [
        f"{one_line(output[s:e])!r} ({backing[i]} of {len(texts)} samples)"
        for i, (s, e) in weak[:_REASON_ITEMS]
    ]
    more = f"; and {len(weak) - _REASON_ITEMS} more" if len(weak) > _REASON_ITEMS else ""
    reason = (
        f"{len(weak)} of {len(claims)} claims are backed by fewer than {min_agreement:.0%} of the samples: "
        + "; ".join(items)
        + more
    )
    evidence = tuple(_window(output, s, s, (s, e)) for _, (s, e) in weak[:_EVIDENCE_ITEMS])
    return CheckResult("consistent", False, reason, score, evidence)
