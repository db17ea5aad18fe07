"""``grounded_in(method="judge")``: a judge model lists the claims the context does not support.

It asks through the one judge protocol (``checks.judge``): the same prompt builder, a verdict held
to a schema where the engine can, and ``samples=K`` judges deciding each claim by majority.
"""

from __future__ import annotations

from pydantic import BaseModel

from ..evidence import EVIDENCE_CHARS, one_line
from ..judge import JudgeModel, ask, build_prompt
from ..result import CheckResult
from .reading import claims_of
from .verdict import _EVIDENCE_ITEMS, _REASON_ITEMS


class Unsupported(BaseModel):
    """The judge's verdict: the numbers (from 1) of the claims the source does not support."""

    unsupported: list[int]


_TASK = (
    "You check an answer against its source text. A claim is unsupported when the source does not "
    "state it: a number, name, date or quote that is not in the source, or arithmetic with a wrong result."
)
_REPLY = (
    "Reply with JSON only, listing the numbers of the unsupported claims (an empty list if all are "
    'supported):\n{"unsupported": [ ]}'
)


def judge_prompt(output: str, context: str) -> str:
    """The prompt ``grounded_in(method="judge")`` sends: the source and the output's numbered claims."""
    claims = "\n".join(f"{i}. {' '.join(claim.split())}" for i, claim in enumerate(claims_of(output), 1))
    return build_prompt(_TASK, [("Source", context), ("Answer, one claim per line", claims)], _REPLY)


def _grounded_by_judge(
    output: str, context: str, judge: JudgeModel, max_tokens: int, min_supported: float, samples: int
) -> CheckResult:
    claims = claims_of(output)
    if not claims:
        return CheckResult("grounded_in", True, "no claims in the output to check", 1.0, ())
    ballot = ask(judge, judge_prompt(output, context), Unsupported, samples=samples, max_tokens=max_tokens)
    readable: list[set[int]] = []
    bad_numbers: list[int] = []
    for verdict in ballot.verdicts:
        numbers = set(verdict.unsupported)
        if numbers <= set(range(1, len(claims) + 1)):
            readable.append({n - 1 for n in numbers})
        else:
            bad_numbers.extend(sorted(numbers - set(range(1, len(claims) + 1))))
    if not readable:
        if ballot.verdicts:
            why = f"it names claim {bad_numbers[0]}, and there are {len(claims)}"
            shown = ""
        else:
            why, shown = ballot.describe_unreadable(), ballot.unreadable[0][0]
        reason = f'the judge\'s verdict is not JSON of the form {{"unsupported": [claim numbers]}}: {why}'
        return CheckResult("grounded_in", False, reason, 0.0, (shown[:EVIDENCE_CHARS],) if shown else ())
    # A claim is unsupported when most readable verdicts say so.
    indices = [i for i in range(len(claims)) if 2 * sum(i in flagged for flagged in readable) > len(readable)]
    panel = ""
    if samples > 1:
        agree = sum(1 for flagged in readable if flagged == set(indices))
        panel = f" ({agree} of {samples} judges give exactly this verdict)"
    score = 1.0 - len(indices) / len(claims)
    if not indices:
        reason = f"the judge found all {len(claims)} claims supported{panel}"
        return CheckResult("grounded_in", True, reason, 1.0, ())
    items = [f"{one_line(claims[i])!r}" for i in indices[:_REASON_ITEMS]]
    more = f"; and {len(indices) - _REASON_ITEMS} more" if len(indices) > _REASON_ITEMS else ""
    reason = (
        f"the judge found {len(indices)} of {len(claims)} claims unsupported{panel}: "
        + "; ".join(items)
        + more
    )
    evidence = tuple(claims[i][:EVIDENCE_CHARS] for i in indices[:_EVIDENCE_ITEMS])
    return CheckResult("grounded_in", score >= min_supported, reason, score, evidence)
