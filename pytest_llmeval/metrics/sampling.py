"""Metrics over several samples per case (``samples=K``): pass@k and majority vote."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from math import comb

from ..checks.numbers import clean_number, final_decimal
from .text import normalize_answer


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021, "Evaluating Large Language Models
    Trained on Code"): the chance that at least one of k samples drawn without replacement from
    n, of which c pass, passes. Using all n samples gives a lower-variance estimate than
    drawing exactly k."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def answer_key(text: str, *, numeric: bool) -> str | None:
    """What a vote compares: the final number for numeric answers, else the SQuAD-normalised text."""
    if numeric:
        value = final_decimal(text)
        # Exact: "18", "18.0" and "$18" are one vote, two 20-digit numbers are two.
        return None if value is None else format(value.normalize(), "f")
    return normalize_answer(text)


def is_numeric(expected: str) -> bool:
    try:
        float(clean_number(expected.strip()))
    except ValueError:
        return False
    return True


def majority_correct(samples: Sequence[str], expected: str) -> bool:
    """Self-consistency (maj@K): the most frequent answer among the samples equals the expected one.

    Answers are compared by ``answer_key``: the final number when the expected answer is a
    number (GSM8K-style), else the normalised text. Ties go to the answer sampled first, so the
    vote is deterministic; samples without an answer (no number) do not vote.
    """
    numeric = is_numeric(expected)
    votes = Counter(k for k in (answer_key(s, numeric=numeric) for s in samples) if k is not None)
    if not votes:
        return False
    winner = votes.most_common(1)[0][0]  # Counter keeps first-seen order among equal counts
    return winner == answer_key(expected, numeric=numeric)
