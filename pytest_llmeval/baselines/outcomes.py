"""Per-case outcomes as the regression gate takes them: a pass/fail (or K sampled ones) or a
score (or K sampled ones), checked and reduced to what the tests compare.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from statistics import fmean
from typing import Literal

Outcome = bool | Sequence[bool]  # one pass/fail, or the K samples of a case (samples=K)
Score = float | Sequence[float]  # one score, or the K samples of a case (their mean is compared)
State = Literal["pass", "fail", "flaky"]


def _is_bool(value: object) -> bool:
    # 0/1 integers and numpy's bool_ are what JSON records and arrays hand over for pass/fail.
    return (isinstance(value, int) and value in (0, 1)) or type(value).__name__ == "bool_"


def is_sampled(outcome: object) -> bool:
    return not (outcome is True or outcome is False) and isinstance(outcome, Sequence) and len(outcome) > 1


def sample_count(outcome: object) -> int:
    return len(outcome) if isinstance(outcome, Sequence) and not isinstance(outcome, str | bytes) else 1


def pass_fraction(case: str, outcome: object) -> float:
    samples = _samples(case, outcome)
    return sum(1 for sample in samples if sample) / len(samples)


def outcome_state(case: str, outcome: object) -> State:
    if outcome is True or outcome is False:  # the common case, kept cheap for 5,000-case suites
        return "pass" if outcome else "fail"
    samples = _samples(case, outcome)
    passes = sum(1 for sample in samples if sample)
    return "pass" if passes == len(samples) else "fail" if passes == 0 else "flaky"


def _samples(case: str, outcome: object) -> Sequence[object]:
    if outcome is True or outcome is False:
        return (outcome,)
    samples = (outcome,) if _is_bool(outcome) else outcome
    if (
        not isinstance(samples, Sequence)
        or isinstance(samples, str | bytes)
        or not samples
        or not all(_is_bool(sample) for sample in samples)
    ):
        raise ValueError(
            f"case {case!r}: a pass/fail outcome is a bool or a non-empty sequence of bools "
            f"(one per sample), got {outcome!r:.80}"
        )
    return samples


def case_mean(case: str, score: object) -> float:
    samples = (score,) if isinstance(score, numbers.Real) else score
    if (
        not isinstance(samples, Sequence)
        or isinstance(samples, str | bytes)
        or not samples
        or not all(isinstance(s, numbers.Real) and math.isfinite(s) for s in samples)
    ):
        raise ValueError(
            f"case {case!r}: a score is a finite number or a non-empty sequence of them "
            f"(one per sample), got {score!r:.80}"
        )
    return float(fmean(samples))
