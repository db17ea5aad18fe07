"""The smallest drop a comparison could have detected: the gate's power analysis.

For pass/fail metrics the power of the rule itself (significant *and* past the margin) under a
Poisson model of the flips; for scores (and pass fractions) the paired-z drop. Both are quoted
at the gate's POWER (80%).
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

from .paired import pass_fail_p, smallest_sign_flip_p
from .verdict import POWER, SLACK

_NORMAL = NormalDist()


@functools.lru_cache(maxsize=4096)  # a pure function; a gate or a simulation asks the same again
def detectable_drop_pass_fail(compared: int, discordant: int, *, alpha: float, margin: float) -> float:
    """The smallest drop in pass rate this suite detects with 80% power at one-sided ``alpha``.

    Model of a run with a true drop d: the noise seen in this comparison stays and the drop adds
    new flips on top of it. With r the observed discordant rate (b + c) / n, the fail->pass count
    c is Poisson with mean n*r/2 and the pass->fail count b Poisson with mean n*(r/2 + d). This is
    the least favourable case: when no case gets better, lowering a case's pass probability by
    e raises its chance of flipping by e*(2p - 1) <= e, so the discordant rate grows by at most d;
    and Poisson counts are wider than the real binomial ones. The quoted drop therefore errs large.
    Power is the chance that the rule fires: b - c past the margin *and* significant by the test
    the rule would use, summed exactly over both Poisson counts at every size, so the exact
    test's discreteness is charged too (a normal approximation of b - c, once used from 50
    expected discordant pairs on, quoted drops with only about 77% power). With no discordant
    pair observed (greedy reruns) the floor is about 6.7 expected flips over n at alpha 0.05
    (P(Poisson(6.7) >= 5) = 0.8). Never below the margin; infinite when no drop is detectable.
    """
    if compared == 0:
        return math.inf
    noise = discordant / compared
    fewest: dict[int, int | None] = {}

    def fewest_drops(rises: int) -> int | None:
        if rises not in fewest:
            fewest[rises] = _fewest_drops(rises, compared, alpha=alpha, margin=margin)
        return fewest[rises]

    def chance_of_firing(rises: int, drop_tails: list[float]) -> float:
        needed = fewest_drops(rises)
        return 0.0 if needed is None else drop_tails[min(needed, len(drop_tails) - 1)]

    mean_rises = compared * noise / 2

    def power(drop: float) -> float:
        mean_drops = mean_rises + compared * drop
        drop_tails = _poisson_upper_tails(mean_drops)
        return math.fsum(
            _poisson_pmf(rises, mean_rises) * chance_of_firing(rises, drop_tails)
            for rises in range(_poisson_floor(mean_rises), _poisson_reach(mean_rises) + 1)
        )

    if power(1.0) < POWER:
        return math.inf
    low, high = 0.0, 1.0
    for _ in range(24):
        middle = (low + high) / 2
        low, high = (low, middle) if power(middle) >= POWER else (middle, high)
    return max(high, margin)


def detectable_drop_scores(
    compared: int, spread: float, *, alpha: float, margin: float, growth: float = 0.0
) -> float:
    """The paired-z detectable drop for a continuous metric: (z_alpha + z_power) * SE of the mean
    difference, or margin + z_power * SE when the margin binds; infinite when too few cases exist
    for any sign-flip p to fall below alpha.

    ``growth`` is how much the variance of a case's difference may grow per unit of drop. For
    pass fractions of K samples it is 1/K: lowering a case's pass probability p by e moves its
    sample variance p(1 - p)/K by at most e/K, so a real drop brings a wider spread than the
    unchanged run showed (the pass/fail rule's r + d, for samples). The drop is then the fixed
    point of d = z * SE(d), reached by iteration (SE grows with the square root of d).
    """
    if compared < _fewest_significant(alpha):
        return math.inf
    z_alpha, z_power = _NORMAL.inv_cdf(1 - alpha), _NORMAL.inv_cdf(POWER)

    def needed(drop: float) -> float:
        standard_error = math.sqrt((spread * spread + growth * drop) / compared)
        return max((z_alpha + z_power) * standard_error, margin + z_power * standard_error)

    drop = needed(0.0)
    for _ in range(100):
        drop, previous = needed(drop), drop
        if abs(drop - previous) < 1e-9:
            break
    return drop


def _fewest_drops(rises: int, compared: int, *, alpha: float, margin: float) -> int | None:
    """The fewest pass->fail flips, next to ``rises`` fail->pass ones, that the rule calls
    REGRESSED; None when no count possible in ``compared`` cases is."""
    low = rises + math.floor(compared * (margin + SLACK)) + 1  # (b - c) / n past the margin
    high = compared - rises + 1
    # More pass->fail flips only lower p, so the first significant count is found by bisection.
    while low < high:
        middle = (low + high) // 2
        if pass_fail_p(middle, rises, compared)[0] < alpha:
            high = middle
        else:
            low = middle + 1
    return low if low <= compared - rises else None


def _poisson_pmf(count: int, mean: float) -> float:
    if mean == 0.0:
        return 1.0 if count == 0 else 0.0
    return math.exp(count * math.log(mean) - mean - math.lgamma(count + 1))


def _poisson_upper_tails(mean: float) -> list[float]:
    """P(X >= k) for X ~ Poisson(mean), k = 0 .. reach, then a final 0."""
    reach = _poisson_reach(mean)
    tails = [0.0] * (reach + 2)
    for count in range(reach, -1, -1):
        tails[count] = tails[count + 1] + _poisson_pmf(count, mean)
    return tails


def _poisson_floor(mean: float) -> int:
    """A count below which a Poisson(mean) has no mass worth summing (10 standard deviations)."""
    return max(0, math.floor(mean - 10 * math.sqrt(mean) - 10))


def _poisson_reach(mean: float) -> int:
    """A count past which a Poisson(mean) has no mass worth summing (10 standard deviations on)."""
    return math.ceil(mean + 10 * math.sqrt(mean) + 10)


def _fewest_significant(alpha: float) -> int:
    """The fewest cases, all changed the same way, whose one-sided sign-flip p is below alpha."""
    cases = 1
    while smallest_sign_flip_p(cases) >= alpha:
        cases += 1
    return cases
