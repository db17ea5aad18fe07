"""The paired tests of the regression gate: one-sided p-values of a drop and of a rise, and the
interval of the change, for per-case outcomes of two runs.

Pass/fail: McNemar (exact below 25 discordant pairs, else the paired z) and Newcombe's paired
interval of the pass-rate difference. Scores: the sign-flip permutation test of the mean paired
difference. Pure and standard-library only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from itertools import compress

from ..metrics.stats import wilson_interval

EXACT_BELOW = 25  # discordant pairs below which McNemar is exact rather than the paired z test
SIGN_FLIPS = 2000

_TO_SELECTORS = bytes.maketrans(b"01", b"\x00\x01")


def pass_fail_p(to_fail: int, to_pass: int, compared: int) -> tuple[float, float, str]:
    """One-sided p-values (of a drop, of a rise) and the test's name, from the flip counts.

    Below 25 discordant pairs the normal approximation is poor, so McNemar is exact: b out of
    b + c at p = 0.5. From there the paired z = mean(d) / SE(d) over all compared cases.
    """
    if to_fail + to_pass < EXACT_BELOW:
        return mcnemar_exact(to_fail, to_pass), mcnemar_exact(to_pass, to_fail), "McNemar exact"
    z = paired_z(to_fail, to_pass, compared)
    return 0.5 * math.erfc(-z / math.sqrt(2)), 0.5 * math.erfc(z / math.sqrt(2)), "paired z"


def mcnemar_exact(to_fail: int, to_pass: int) -> float:
    """P(X >= b) for X ~ Binomial(b + c, 1/2): the exact one-sided McNemar p of a drop."""
    trials = to_fail + to_pass
    return sum(math.comb(trials, k) for k in range(to_fail, trials + 1)) / (1 << trials)


def paired_z(to_fail: int, to_pass: int, compared: int) -> float:
    """mean(d) / SE(d) with d = current - baseline per case: -1 per pass->fail, +1 per fail->pass."""
    mean = (to_pass - to_fail) / compared
    variance = (to_fail + to_pass - compared * mean * mean) / (compared - 1)
    if variance <= 0.0:  # every case flipped the same way: no noise left to doubt it
        return math.copysign(math.inf, mean) if mean else 0.0
    return mean / math.sqrt(variance / compared)


def paired_rate_interval(both_pass: int, to_fail: int, to_pass: int, both_fail: int) -> tuple[float, float]:
    """95% interval of current - baseline pass rate on paired cases: Newcombe's method 10.

    (Newcombe 1998, "Improved confidence intervals for the difference between binomial
    proportions based on paired data".) It combines the two Wilson intervals with the observed
    correlation of the pairs, so unlike the Wald interval it stays sensible with few or no flips
    and near 0% or 100%.
    """
    n = both_pass + to_fail + to_pass + both_fail
    if n == 0:
        return (math.nan, math.nan)
    before, after = (both_pass + to_fail) / n, (both_pass + to_pass) / n
    low_before, high_before = wilson_interval(both_pass + to_fail, n)
    low_after, high_after = wilson_interval(both_pass + to_pass, n)
    phi = _newcombe_phi(both_pass, to_fail, to_pass, both_fail)
    below_after, above_before = after - low_after, high_before - before
    above_after, below_before = high_after - after, before - low_before
    low = math.sqrt(max(0.0, below_after**2 - 2 * phi * below_after * above_before + above_before**2))
    high = math.sqrt(max(0.0, above_after**2 - 2 * phi * above_after * below_before + below_before**2))
    delta = (to_pass - to_fail) / n
    return (max(-1.0, delta - low), min(1.0, delta + high))


def _newcombe_phi(both_pass: int, to_fail: int, to_pass: int, both_fail: int) -> float:
    """The pairs' correlation, with Newcombe's continuity correction of a positive one."""
    margins = (both_pass + to_fail) * (to_pass + both_fail) * (both_pass + to_pass) * (to_fail + both_fail)
    if margins == 0:
        return 0.0
    n = both_pass + to_fail + to_pass + both_fail
    cross = both_pass * both_fail - to_fail * to_pass
    if cross > n / 2:
        return (cross - n / 2) / math.sqrt(margins)
    return cross / math.sqrt(margins) if cross < 0 else 0.0


def sign_flip_p(gains: Sequence[float], *, resamples: int = SIGN_FLIPS, seed: int = 0) -> tuple[float, float]:
    """One-sided p-values (of a drop, of a rise) of the mean of paired ``gains`` by sign flips.

    Every sign pattern when there are at most log2(resamples) cases (exact), else ``resamples``
    seeded random ones with the observed pattern counted in, so p is never 0. Ties count against
    the change, so identical runs give p = 1 both ways.

    When no random pattern reaches the observed sum, all the draws say is p < 1/(resamples + 1),
    a floor that a strict alpha or a Holm level alpha/m may lie below: a 30-point drop on every
    one of 500 cases would then never be significant. Hoeffding's bound for a sum of randomly
    signed terms, P(S <= -t) <= exp(-t^2 / (2 sum d^2)), bounds the exact p from above, so it is
    taken instead when it is smaller (:func:`tail_bound`).
    """
    n = len(gains)
    if n == 0:
        return (1.0, 1.0)
    observed = sum(gains)
    slack = 1e-9 * math.fsum(map(abs, gains))  # the two sums round differently
    exhaustive = n < resamples.bit_length()
    rng = random.Random(seed)
    masks: Iterable[int] = range(1 << n) if exhaustive else (rng.getrandbits(n) for _ in range(resamples))
    at_or_below = at_or_above = 0
    for mask in masks:
        # The mask's bits, as 0/1 bytes, pick the cases whose sign flips; every step runs in C.
        flipped_cases = format(mask, f"0{n}b").encode().translate(_TO_SELECTORS)
        statistic = observed - 2 * sum(compress(gains, flipped_cases))
        at_or_below += statistic <= observed + slack
        at_or_above += statistic >= observed - slack
    if exhaustive:
        return (at_or_below / (1 << n), at_or_above / (1 << n))
    squares = math.fsum(g * g for g in gains)
    p_drop, p_rise = (at_or_below + 1) / (resamples + 1), (at_or_above + 1) / (resamples + 1)
    if at_or_below == 0:
        p_drop = min(p_drop, tail_bound(-observed, squares))
    if at_or_above == 0:
        p_rise = min(p_rise, tail_bound(observed, squares))
    return (p_drop, p_rise)


def tail_bound(distance: float, squares: float) -> float:
    """Hoeffding's bound on P(S >= distance) for S = sum of +-d_i with random signs, where
    ``squares`` is sum d_i^2: exp(-distance^2 / (2 squares)); 1 for a distance of 0 or less."""
    if distance <= 0.0 or squares <= 0.0:
        return 1.0
    return max(math.exp(-distance * distance / (2.0 * squares)), 1e-300)  # tiny, never 0


def smallest_sign_flip_p(cases: int, *, resamples: int = SIGN_FLIPS) -> float:
    """The smallest one-sided p :func:`sign_flip_p` can give for ``cases`` paired changes: all
    alike and of one sign (2**-n when every pattern is counted; else the draws' floor or the
    tail bound, which is exp(-n/2) at its lowest)."""
    if cases < resamples.bit_length():
        return 2.0**-cases
    return min(1.0 / (resamples + 1), math.exp(-cases / 2.0))
