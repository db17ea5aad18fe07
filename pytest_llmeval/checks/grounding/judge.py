"""``grounded_in(method="judge")``: a judge model lists the claims the context does not support."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

from ..result import CheckResult
from .reading import _content_words, claims_of
from .verdict import _EVIDENCE_CHARS, _EVIDENCE_ITEMS, _REASON_ITEMS, _shorten


class Judge(Protocol):
    """Anything that answers a prompt with text, such as the ``judge`` fixture's ``LLM``."""

    def generate(self, prompt: str, **kw: Any) -> Any: ...


# ---------------------------------------------------------------------------------------------
# method="judge"

_JUDGE_PROMPT = """You check an answer against its source text. A claim is unsupported when the source does \
not state it: a number, name, date or quote that is not in the source, or arithmetic with a wrong result.

Source:
{context}

Answer, one claim per line:
{claims}

Reply with JSON only, listing the numbers of the unsupported claims (an empty list if all are supported):
{{"unsupported": [ ]}}"""


def judge_prompt(output: str, context: str) -> str:
    """The prompt ``grounded_in(method="judge")`` sends: the source and the output's numbered claims."""
    claims = "\n".join(f"{i}. {' '.join(claim.split())}" for i, claim in enumerate(claims_of(output), 1))
    return _JUDGE_PROMPT.format(context=context.strip(), claims=claims)


def parse_verdict(reply: str, claims: Sequence[str]) -> list[int] | None:
    """The 0-based indices of the claims a judge's reply calls unsupported, or None if it cannot be read.

    Accepts JSON inside a fenced block or surrounded by other text, as ``{"unsupported": [...]}`` or a
    bare list, whose items are claim numbers (1-based), claim texts, or objects with a "claim" field.
    """
    for candidate in _json_candidates(reply):
        items = candidate.get("unsupported") if isinstance(candidate, dict) else candidate
        if isinstance(candidate, dict) and items is None:
            items = candidate.get("unsupported_claims")
        if not isinstance(items, list):
            continue
        indices = [_claim_index(item, claims) for item in items]
        if all(i is not None for i in indices):
            return sorted({i for i in indices if i is not None})
    return None


def _json_candidates(reply: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found: list[Any] = []
    fenced = re.findall(r"```(?:json)?\s*(.*?)```", reply, flags=re.DOTALL)
    for text in [*fenced, reply]:
        starts = [m.start() for m in re.finditer(r"[\[{]", text)][:50]
        for start in starts:
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                continue
            found.append(value)
    return found


def _claim_index(item: object, claims: Sequence[str]) -> int | None:
    if isinstance(item, dict):
        item = item.get("claim", item.get("id", item.get("number")))
    if isinstance(item, bool):
        return None
    if isinstance(item, int | float) and float(item).is_integer() and 1 <= int(item) <= len(claims):
        return int(item) - 1
    if isinstance(item, str):
        if item.strip().isdigit():
            return _claim_index(int(item.strip()), claims)
        wanted = _content_words(item)
        best, best_overlap = None, 0.0
        for index, claim in enumerate(claims):
            words = _content_words(claim)
            overlap = len(words & wanted) / max(len(words | wanted), 1)
            if overlap > best_overlap:
                best, best_overlap = index, overlap
        return best if best_overlap >= 0.5 else None
    return None


def _grounded_by_judge(
    output: str, context: str, judge: Judge, max_tokens: int, min_supported: float
) -> CheckResult:
    claims = claims_of(output)
    if not claims:
        return CheckResult("grounded_in", True, "no claims in the output to check", 1.0, ())
    reply = judge.generate(judge_prompt(output, context), max_tokens=max_tokens, temperature=0.0)
    if not isinstance(reply, str):
        return CheckResult(
            "grounded_in", False, f"the judge returned {type(reply).__name__}, not text", 0.0, ()
        )
    indices = parse_verdict(reply, claims)
    if indices is None:
        reason = (
            'the judge\'s verdict is not JSON of the form {"unsupported": [claim numbers]}: '
            f"{_shorten(reply, 160)!r}"
        )
        return CheckResult("grounded_in", False, reason, 0.0, (reply[:_EVIDENCE_CHARS],))
    score = 1.0 - len(indices) / len(claims)
    if not indices:
        return CheckResult(
            "grounded_in", True, f"the judge found all {len(claims)} claims supported", 1.0, ()
        )
    items = [f"{_shorten(claims[i])!r}" for i in indices[:_REASON_ITEMS]]
    more = f"; and {len(indices) - _REASON_ITEMS} more" if len(indices) > _REASON_ITEMS else ""
    reason = f"the judge found {len(indices)} of {len(claims)} claims unsupported: " + "; ".join(items) + more
    evidence = tuple(claims[i][:_EVIDENCE_CHARS] for i in indices[:_EVIDENCE_ITEMS])
    return CheckResult("grounded_in", score >= min_supported, reason, score, evidence)
