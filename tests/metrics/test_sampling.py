"""pass@k and majority vote over samples, against brute force and hand-worked cases."""

from __future__ import annotations

from itertools import combinations

import pytest

from pytest_llmeval.metrics import CaseScores, MetricError, compute
from pytest_llmeval.metrics.sampling import majority_correct, pass_at_k


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 1), (5, 2, 2), (5, 2, 4), (10, 3, 5), (6, 0, 3), (6, 6, 1)])
def test_pass_at_k_equals_the_share_of_k_subsets_with_a_pass(n: int, c: int, k: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(combinations(outcomes, k))
    assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))


def test_pass_at_k_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(3, 1, 4)


def test_majority_votes_on_final_numbers_or_normalised_text() -> None:
    assert majority_correct(["so 18", "It is $18.", "maybe 20"], "18")
    assert not majority_correct(["20", "so 20", "18"], "18")
    assert majority_correct(["The Paris.", "paris", "Lyon"], "Paris")
    # A tie goes to the answer sampled first; samples without a number do not vote.
    assert majority_correct(["7", "no idea", "9"], "7")
    assert not majority_correct(["9", "7"], "7")
    assert not majority_correct(["no number", "none"], "7")


def sampled(
    passes: tuple[bool, ...], samples: tuple[str, ...] = (), expected: str | None = None
) -> CaseScores:
    return CaseScores(sum(passes) * 2 > len(passes), None, expected, {}, samples, passes)


def test_suite_pass_at_k_and_majority() -> None:
    cases = [
        sampled((True, False, False), ("4", "5", "6"), "4"),
        sampled((True, True, False), ("4", "4", "5"), "4"),
        sampled((False, False, False), ("1", "2", "2"), "4"),
    ]
    assert compute("pass@1", cases).value == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert compute("pass@3", cases).value == pytest.approx(2 / 3)
    majority = compute("majority", cases)
    assert majority.value == pytest.approx(2 / 3)  # "4" wins the first case by coming first
    assert majority.low < majority.value < majority.high
    with pytest.raises(MetricError, match="at least 4 samples"):
        compute("pass@4", cases)


def test_cases_without_samples_count_as_one_sample_each() -> None:
    cases = [CaseScores(True, "a", "a", {}), CaseScores(False, "b", "a", {})]
    assert compute("pass@1", cases).value == 0.5
    with pytest.raises(MetricError, match="majority needs samples"):
        compute("majority", cases)
