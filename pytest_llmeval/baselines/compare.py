"""One suite compared with its reference, case by case: the single place the gate's rule is applied.

The live gate (a run against its baseline file), ``pytest-llmeval compare`` (two saved reports)
and ``--llmeval-compare-model`` (two models in one session) all turn their cases into
:class:`CaseView` and call :func:`compare_cases`; the statistics are in :mod:`.stats`. Which
cases are paired, which metric is tested how, and when nothing could be compared are decided
here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..suite import COUNT_SCORES
from .stats import Comparison, compare_pass_fail, compare_scores

_SHOWN = 5  # case ids named in a warning before "(+N more)"


@dataclass(frozen=True)
class CaseView:
    """What the gate needs of one case, whatever holds it (a record, a baseline entry, a report).

    ``samples`` holds each sample's pass/fail when the case had K > 1 samples, else it is empty;
    ``input_hash`` is empty when the source did not keep one (the input is then taken as unchanged).
    """

    passed: bool
    samples: tuple[bool, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    critical: bool = False
    input_hash: str = ""

    def outcome(self) -> bool | tuple[bool, ...]:
        return self.samples if len(self.samples) > 1 else self.passed


def prompt_hash(prompt: str | None) -> str:
    """An input hash for a source that kept the prompt text but no hash (reports of version 1).
    Marked with ``p:`` so it is never compared with a real input hash."""
    if prompt is None:
        return ""
    return "p:" + hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class SuiteComparison:
    """The gate's view of one suite: its metric comparisons (not yet Holm-adjusted across the
    run), or why none was possible, and the warnings to show."""

    suite: str
    comparisons: tuple[Comparison, ...]
    not_compared: str | None  # why nothing was compared; None when something was
    changed: tuple[str, ...]  # cases whose input differs from the reference's
    warnings: tuple[str, ...] = ()


def compare_cases(
    suite: str,
    reference: Mapping[str, CaseView],
    current: Mapping[str, CaseView],
    *,
    alpha: float,
    margin: float,
    partial: bool = False,
) -> SuiteComparison:
    """Compare ``current`` with ``reference``, paired by case id.

    A case whose input changed is not paired (it asks something else now) but the others still
    are. ``partial``: the run selected some cases (``-k``, ``--lf``...), so reference cases that
    did not run are not "removed". The pass/fail comparison always comes first; then every
    per-case score both sides have, by McNemar when all its values are 0 or 1, else by sign flips.
    """
    shared = sorted(reference.keys() & current.keys())
    changed = tuple(i for i in shared if not _same_input(reference[i].input_hash, current[i].input_hash))
    if not shared or len(changed) == len(shared):
        return SuiteComparison(suite, (), _why_not(reference, current, changed), changed)
    warnings = []
    if changed:
        warnings.append(
            f"input changed for {len(changed)} of {len(shared)} cases (dataset or prompt template "
            f"changed): those are not compared, the other {len(shared) - len(changed)} are: {_ids(changed)}"
        )
    skip = set(changed)
    before = {i: v for i, v in reference.items() if i not in skip and (not partial or i in current)}
    after = {i: v for i, v in current.items() if i not in skip}
    critical = {i for views in (before, after) for i, v in views.items() if v.critical}
    comparisons = [
        compare_pass_fail(
            suite,
            {i: v.outcome() for i, v in before.items()},
            {i: v.outcome() for i, v in after.items()},
            critical=critical,
            alpha=alpha,
            margin=margin,
        )
    ]
    names = {k for v in before.values() for k in v.scores} & {k for v in after.values() for k in v.scores}
    names -= COUNT_SCORES
    for name in sorted(names):
        old = {i: v.scores[name] for i, v in before.items() if name in v.scores}
        new = {i: v.scores[name] for i, v in after.items() if name in v.scores}
        if not old.keys() & new.keys():
            warnings.append(f"{name}: no case has it on both sides, so it is not compared")
        elif all(value in (0.0, 1.0) for value in [*old.values(), *new.values()]):  # a per-case hit
            comparisons.append(
                compare_pass_fail(
                    suite,
                    {i: value == 1.0 for i, value in old.items()},
                    {i: value == 1.0 for i, value in new.items()},
                    metric=name,
                    alpha=alpha,
                    margin=margin,
                )
            )
        else:
            comparisons.append(compare_scores(suite, old, new, metric=name, alpha=alpha, margin=margin))
    return SuiteComparison(suite, tuple(comparisons), None, changed, tuple(warnings))


def _same_input(before: str, after: str) -> bool:
    if not before or not after or before.startswith("p:") != after.startswith("p:"):
        return True  # one side does not know: the case is taken as the same question
    return before == after


def _why_not(
    reference: Mapping[str, CaseView], current: Mapping[str, CaseView], changed: tuple[str, ...]
) -> str:
    if changed:
        return (
            f"input changed for all {len(changed)} cases the reference shares with this run "
            "(dataset or prompt template changed)"
        )
    if not current:
        return "no case of it ran"
    return (
        f"no paired cases: none of this run's {len(current)} case ids is among the reference's "
        f"{len(reference)}"
    )


def _ids(ids: tuple[str, ...] | list[str]) -> str:
    more = f" (+{len(ids) - _SHOWN} more)" if len(ids) > _SHOWN else ""
    return ", ".join(ids[:_SHOWN]) + more
