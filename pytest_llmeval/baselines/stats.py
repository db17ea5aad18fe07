"""Did this run get worse than the baseline? A paired, noise-aware comparison of one suite metric.

Two runs of a suite are compared case by case (paired by case id), never by their averages alone:
pairing cancels each case's difficulty, which is most of the spread between cases, so a suite of a
few hundred cases can tell a real drop of a few points from sampling noise.

The rule: a metric REGRESSED when its one-sided p-value for a
drop, Holm-adjusted across the run's gated metrics, is below alpha *and* the observed drop exceeds
the margin; a drop past the margin that is not significant is a WARNING; a significant rise past
the margin is IMPROVED (reported, never failing); a metric with no paired case is NOT COMPARED, never
OK; anything else is OK. Pure and standard-library only: :mod:`.compare` feeds it per-case
outcomes, and the gate, the ``compare`` command and the reports print what it returns.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from itertools import compress
from statistics import NormalDist, fmean, stdev
from typing import Literal

from ..metrics.stats import bootstrap_interval, wilson_interval

DEFAULT_ALPHA = 0.05
DEFAULT_MARGIN = 0.02  # 2 points on a 0-1 metric
POWER = 0.80  # the power at which the detectable drop is quoted
EXACT_BELOW = 25  # discordant pairs below which McNemar is exact rather than the paired z test
SIGN_FLIPS = 2000
BOOTSTRAP_RESAMPLES = 1000
# A drop of exactly the margin is not "past" it; the slack absorbs float rounding such as 0.5 - 0.48.
_SLACK = 1e-12
# Expected discordant pairs below which the power of the rule is summed exactly, not approximated.
_POISSON_BELOW = 50

Outcome = bool | Sequence[bool]  # one pass/fail, or the K samples of a case (samples=K)
Score = float | Sequence[float]  # one score, or the K samples of a case (their mean is compared)
State = Literal["pass", "fail", "flaky"]

_NORMAL = NormalDist()
_TO_SELECTORS = bytes.maketrans(b"01", b"\x00\x01")


class Decision(str, Enum):
    """The gate's verdict on one metric; only REGRESSED fails a run (critical flips aside).
    NOT COMPARED: no case was paired, so nothing was decided (the gate says why and, under CI,
    fails the run on it)."""

    REGRESSED = "REGRESSED"
    WARNING = "WARNING"
    IMPROVED = "IMPROVED"
    OK = "OK"
    NOT_COMPARED = "NOT COMPARED"


# How a pass/fail metric is tested when some case has K > 1 samples: each case's fraction of
# passing samples is a paired score, so no case has to be left out as flaky.
FRACTIONS_METHOD = "sign-flip on pass fractions"


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """One metric of one suite, baseline vs current, paired by case id.

    ``delta`` is current - baseline in the metric's units with its paired 95% ``interval``;
    ``p_value`` is the raw one-sided p of a drop and ``p_adjusted`` the Holm-adjusted one the
    decision uses (the same until :func:`gate` adjusts a run's metrics together). ``compared`` is
    the number of paired cases in the test: flaky, new and removed cases are listed, not tested,
    and the two values are taken over the compared cases only, so ``delta`` is exactly their
    difference and the suite's own pass rate (over all its cases) may differ from them.
    """

    suite: str
    metric: str
    kind: Literal["pass", "score"]
    baseline_value: float
    current_value: float
    delta: float
    interval: tuple[float, float]
    p_value: float
    p_adjusted: float
    p_rise: float
    p_rise_adjusted: float
    decision: Decision
    detectable_drop: float
    flips_to_fail: tuple[str, ...]
    flips_to_pass: tuple[str, ...]
    critical_flips: tuple[str, ...]
    new_ids: tuple[str, ...]
    removed_ids: tuple[str, ...]
    flaky_ids: tuple[str, ...]
    compared: int
    discordant: int  # pass/fail: cases whose outcome changed (b + c); 0 for scores
    spread: float  # standard deviation of the per-case differences
    method: str
    alpha: float
    margin: float
    family: int = 1  # how many metrics the p-values were Holm-adjusted across
    higher_is_better: bool = True
    in_points: bool = True  # a 0-1 metric: deltas print as points (x100)
    samples: int = 1  # pass fractions: the fewest samples a compared case has

    @property
    def flaky_count(self) -> int:
        return len(self.flaky_ids)

    @property
    def drop(self) -> float:
        """How much worse the current run is, in the metric's units (negative when it is better)."""
        return -self.delta if self.higher_is_better else self.delta

    @property
    def largest_drop(self) -> float:
        """The largest drop the baseline's value leaves room for: a 0-1 metric where higher is
        better cannot fall below 0 (infinite for other metrics)."""
        if self.in_points and self.higher_is_better and math.isfinite(self.baseline_value):
            return self.baseline_value
        return math.inf

    @property
    def fails_run(self) -> bool:
        return self.decision is Decision.REGRESSED or bool(self.critical_flips)

    def summary_line(self) -> str:
        """E.g. ``support_answers  pass 0.842 -> 0.815  d -2.7pt [-4.1,-1.3]  p=0.0004  REGRESSED
        7 flipped pass->fail``, on one line (the shape the README's gate section shows)."""
        if self.decision is Decision.NOT_COMPARED:
            return f"{self.suite}  {self.metric}  NOT COMPARED (no paired cases)"
        low, high = self.interval
        if math.isnan(self.delta):
            change = "d n/a"
        elif self.in_points:
            change = f"d {100 * self.delta:+.1f}pt [{100 * low:.1f},{100 * high:.1f}]"
        else:
            change = f"d {self.delta:+.3f} [{low:.3f},{high:.3f}]"
        p = f"p={self.p_adjusted:.4f}" if self.p_adjusted >= 0.0001 else "p<0.0001"
        line = (
            f"{self.suite}  {self.metric} {self.baseline_value:.3f} -> {self.current_value:.3f}"
            f"  {change}  {p}  {self.decision.value}"
        )
        if self.kind == "pass":
            line += f"  {len(self.flips_to_fail)} flipped pass->fail"
        return line

    def detail_line(self) -> str:
        """What the summary line leaves out: the drop the suite could have detected, and the cases
        that were not compared or must fail the run."""
        cap = self.largest_drop
        if self.compared == 0:
            detectable = "none (no paired cases)"
        elif cap <= 0.0:
            detectable = "none: the baseline is at 0, it cannot drop"
        elif math.isinf(self.detectable_drop) and math.isfinite(cap):
            shown = f"{100 * cap:.1f}pt" if self.in_points else f"{cap:.3f}"
            detectable = f"none within the {shown} the baseline's value allows (too few cases)"
        elif math.isinf(self.detectable_drop):
            detectable = "unbounded (too few cases)"
        elif self.in_points:
            detectable = f"{100 * self.detectable_drop:.1f}pt"
        else:
            detectable = f"{self.detectable_drop:.3f}"
        level = f"/{self.family}" if self.family > 1 else ""
        parts = [
            f"{self.suite}  {self.metric}: smallest detectable drop {detectable} "
            f"({self.compared} paired cases, {self.method}, alpha {self.alpha:g}{level}, {POWER:.0%} power)"
        ]
        if self.flips_to_pass:
            parts.append(f"{len(self.flips_to_pass)} flipped fail->pass")
        flaky = "flaky, compared by pass fraction" if self.method == FRACTIONS_METHOD else "flaky, left out"
        counts = (("new", self.new_ids), ("removed", self.removed_ids), (flaky, self.flaky_ids))
        parts += [f"{len(ids)} {label}" for label, ids in counts if ids]
        if self.critical_flips:
            parts.append("CRITICAL pass->fail: " + ", ".join(self.critical_flips))
        return "; ".join(parts)


def compare_pass_fail(
    suite: str,
    baseline: Mapping[str, Outcome],
    current: Mapping[str, Outcome],
    *,
    metric: str = "pass",
    critical: Collection[str] = (),
    alpha: float = DEFAULT_ALPHA,
    margin: float = DEFAULT_MARGIN,
) -> Comparison:
    """Compare per-case pass/fail outcomes (a bool, or K sampled bools per case).

    One outcome per case: one-sided McNemar, exact (binomial) below 25 discordant pairs, else
    the paired z. When some case has K > 1 samples, each case's fraction of passing samples is
    a paired score tested by sign flips (:func:`_compare_fractions`): a flaky case then counts
    with the weight of its change instead of being dropped, so a sampled suite is gated on all
    its cases, and a model that turns stable cases flaky shows as a drop.
    """
    _check_options(alpha, margin)
    if isinstance(critical, str):
        raise ValueError(f"critical must be a collection of case ids, not the single string {critical!r}")
    if any(_is_sampled(outcome) for outcomes in (baseline, current) for outcome in outcomes.values()):
        return _compare_fractions(suite, baseline, current, metric, critical, alpha, margin)
    before = {case: _state(case, outcome) for case, outcome in baseline.items()}
    after = {case: _state(case, outcome) for case, outcome in current.items()}
    paired = sorted(before.keys() & after.keys())
    flaky = tuple(case for case in paired if "flaky" in (before[case], after[case]))
    stable = [case for case in paired if "flaky" not in (before[case], after[case])]
    to_fail = tuple(case for case in stable if before[case] == "pass" and after[case] == "fail")
    to_pass = tuple(case for case in stable if before[case] == "fail" and after[case] == "pass")
    both_pass = sum(1 for case in stable if before[case] == after[case] == "pass")
    n, b, c = len(stable), len(to_fail), len(to_pass)
    p_drop, p_rise, method = pass_fail_p(b, c, n)
    critical_ids = set(critical)
    result = Comparison(
        suite=suite,
        metric=metric,
        kind="pass",
        baseline_value=(both_pass + b) / n if n else math.nan,
        current_value=(both_pass + c) / n if n else math.nan,
        delta=(c - b) / n if n else math.nan,  # one division, so 1 flip in 50 is exactly 2 points
        interval=paired_rate_interval(both_pass, b, c, n - both_pass - b - c),
        p_value=p_drop,
        p_adjusted=p_drop,
        p_rise=p_rise,
        p_rise_adjusted=p_rise,
        decision=Decision.OK,
        detectable_drop=math.inf,
        flips_to_fail=to_fail,
        flips_to_pass=to_pass,
        critical_flips=tuple(case for case in to_fail if case in critical_ids),
        new_ids=tuple(sorted(after.keys() - before.keys())),
        removed_ids=tuple(sorted(before.keys() - after.keys())),
        flaky_ids=flaky,
        compared=n,
        discordant=b + c,
        spread=math.sqrt(max(0.0, b + c - (c - b) ** 2 / n) / (n - 1)) if n > 1 else 0.0,
        method=method,
        alpha=alpha,
        margin=margin,
    )
    return _settle(result, p_drop, p_rise, family=1)


def _compare_fractions(
    suite: str,
    baseline: Mapping[str, Outcome],
    current: Mapping[str, Outcome],
    metric: str,
    critical: Collection[str],
    alpha: float,
    margin: float,
) -> Comparison:
    """Pass/fail with samples: each case's pass fraction, paired, by the sign-flip test. A case
    went pass->fail when its fraction fell (fail->pass when it rose); a critical case flipped
    when it lost its majority of passing samples, the rule that decides whether a case passes."""
    before = {case: _fraction(case, outcome) for case, outcome in baseline.items()}
    after = {case: _fraction(case, outcome) for case, outcome in current.items()}
    scored = compare_scores(suite, before, after, metric=metric, alpha=alpha, margin=margin)
    paired = sorted(before.keys() & after.keys())
    critical_ids = set(critical)
    result = replace(
        scored,
        kind="pass",
        flips_to_fail=tuple(case for case in paired if after[case] < before[case]),
        flips_to_pass=tuple(case for case in paired if after[case] > before[case]),
        critical_flips=tuple(
            case for case in paired if case in critical_ids and before[case] > 0.5 and not after[case] > 0.5
        ),
        flaky_ids=tuple(case for case in paired if 0.0 < before[case] < 1.0 or 0.0 < after[case] < 1.0),
        discordant=sum(1 for case in paired if after[case] != before[case]),
        method=FRACTIONS_METHOD,
        in_points=True,
        samples=min((_sample_count(o) for side in (baseline, current) for o in side.values()), default=1),
    )
    return _settle(result, result.p_value, result.p_rise, family=1)


def compare_scores(
    suite: str,
    baseline: Mapping[str, Score],
    current: Mapping[str, Score],
    *,
    metric: str = "score",
    higher_is_better: bool = True,
    alpha: float = DEFAULT_ALPHA,
    margin: float = DEFAULT_MARGIN,
    seed: int = 0,
) -> Comparison:
    """Compare a continuous per-case metric (a score, or the mean of a case's K samples).

    The p-value comes from a sign-flip permutation test of the mean paired difference, not from
    a bootstrap test: "no change" means each case's two scores are exchangeable, which is exactly
    what flipping the sign of its difference simulates, so the test holds its level at any size
    and for skewed scores, where bootstrap tests run hot on small suites. The interval of the
    delta is the paired percentile bootstrap (``metrics.stats``). ``margin`` is in the metric's
    units; for a metric where lower is better (latency, perplexity) a drop is a rise in value.
    """
    _check_options(alpha, margin)
    before = {case: _case_mean(case, score) for case, score in baseline.items()}
    after = {case: _case_mean(case, score) for case, score in current.items()}
    paired = sorted(before.keys() & after.keys())
    differences = [after[case] - before[case] for case in paired]
    p_drop, p_rise = sign_flip_p(differences if higher_is_better else [-d for d in differences], seed=seed)
    n = len(paired)

    def mean_difference(indices: Sequence[int]) -> float:
        return fmean(map(differences.__getitem__, indices))

    values = [before[case] for case in paired] + [after[case] for case in paired]
    result = Comparison(
        suite=suite,
        metric=metric,
        kind="score",
        baseline_value=fmean(before[case] for case in paired) if n else math.nan,
        current_value=fmean(after[case] for case in paired) if n else math.nan,
        delta=fmean(differences) if n else math.nan,
        interval=bootstrap_interval(n, mean_difference, resamples=BOOTSTRAP_RESAMPLES, seed=seed),
        p_value=p_drop,
        p_adjusted=p_drop,
        p_rise=p_rise,
        p_rise_adjusted=p_rise,
        decision=Decision.OK,
        detectable_drop=math.inf,
        flips_to_fail=(),
        flips_to_pass=(),
        critical_flips=(),
        new_ids=tuple(sorted(after.keys() - before.keys())),
        removed_ids=tuple(sorted(before.keys() - after.keys())),
        flaky_ids=(),
        compared=n,
        discordant=0,
        spread=stdev(differences) if n > 1 else 0.0,
        method="sign-flip permutation",
        alpha=alpha,
        margin=margin,
        higher_is_better=higher_is_better,
        in_points=all(0.0 <= value <= 1.0 for value in values),
    )
    return _settle(result, p_drop, p_rise, family=1)


def gate(comparisons: Sequence[Comparison]) -> tuple[Comparison, ...]:
    """Decide a run's gated metrics together: Holm-adjust their p-values, then re-decide each.

    Testing several metrics at alpha each would flag some metric of an unchanged model far more
    often than alpha; Holm keeps that family-wise rate at alpha and is never less powerful than
    Bonferroni. The detectable drop is re-quoted at alpha / m, the level a lone regressed metric
    must reach in Holm's first step. Idempotent: it always starts from the raw p-values.
    """
    drops = holm([c.p_value for c in comparisons])
    rises = holm([c.p_rise for c in comparisons])
    family = len(comparisons)
    return tuple(_settle(c, d, r, family) for c, d, r in zip(comparisons, drops, rises, strict=True))


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order."""
    for p in p_values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must be in [0, 1], got {p!r}")
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=p_values.__getitem__)):
        # The max keeps the adjusted values in the order of the raw ones (step-down monotonicity).
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return tuple(adjusted)


def decide(drop: float, p_drop: float, p_rise: float, *, alpha: float, margin: float) -> Decision:
    """The rule on one metric; ``drop`` is positive when the current run is worse (NaN: OK)."""
    if drop > margin + _SLACK:
        return Decision.REGRESSED if p_drop < alpha else Decision.WARNING
    if -drop > margin + _SLACK and p_rise < alpha:
        return Decision.IMPROVED
    return Decision.OK


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
    return ((at_or_below + 1) / (resamples + 1), (at_or_above + 1) / (resamples + 1))


def detectable_drop_pass_fail(compared: int, discordant: int, *, alpha: float, margin: float) -> float:
    """The smallest drop in pass rate this suite detects with 80% power at one-sided ``alpha``.

    Model of a run with a true drop d: the noise seen in this comparison stays and the drop adds
    new flips on top of it. With r the observed discordant rate (b + c) / n, the fail->pass count
    c is Poisson with mean n*r/2 and the pass->fail count b Poisson with mean n*(r/2 + d). This is
    the least favourable case: when no case gets better, lowering a case's pass probability by
    e raises its chance of flipping by e*(2p - 1) <= e, so the discordant rate grows by at most d;
    and Poisson counts are wider than the real binomial ones. The quoted drop therefore errs large.
    Power is the chance that the rule fires: b - c past the margin *and* significant by the test
    the rule would use. From 50 expected discordant pairs on, b - c is taken as normal,
    N(n*d, n*(r + d)): the paired-z formula d = (z_alpha + z_power) * sqrt((r + d) / n), or
    margin + z_power * sqrt((r + d) / n) when the margin binds. Below that the Poisson sum is
    exact, so the exact test's discreteness is charged too. With no discordant pair observed
    (greedy reruns) the floor is about 6.7 expected flips over n at alpha 0.05
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
        if mean_drops + mean_rises >= _POISSON_BELOW:
            rises = round(mean_rises)
            needed = fewest_drops(rises)
            if needed is None:
                return 0.0
            spread = math.sqrt(2 * (mean_drops + mean_rises))
            return 0.5 * math.erfc((needed - rises - 0.5 - compared * drop) / spread)
        drop_tails = _poisson_upper_tails(mean_drops)
        return math.fsum(
            _poisson_pmf(rises, mean_rises) * chance_of_firing(rises, drop_tails)
            for rises in range(_poisson_reach(mean_rises) + 1)
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
    low = rises + math.floor(compared * (margin + _SLACK)) + 1  # (b - c) / n past the margin
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


def _poisson_reach(mean: float) -> int:
    """A count past which a Poisson(mean) has no mass worth summing (10 standard deviations on)."""
    return math.ceil(mean + 10 * math.sqrt(mean) + 10)


def _fewest_significant(alpha: float) -> int:
    """The fewest cases, all changed the same way, whose one-sided p (2**-k) is below alpha."""
    return math.floor(math.log2(1 / alpha)) + 1


def _settle(result: Comparison, p_drop: float, p_rise: float, family: int) -> Comparison:
    level = result.alpha / family
    if result.kind == "pass" and result.method != FRACTIONS_METHOD:
        detectable = detectable_drop_pass_fail(
            result.compared, result.discordant, alpha=level, margin=result.margin
        )
    else:
        growth = 1.0 / result.samples if result.method == FRACTIONS_METHOD else 0.0
        detectable = detectable_drop_scores(
            result.compared, result.spread, alpha=level, margin=result.margin, growth=growth
        )
    if result.in_points and math.isfinite(detectable):
        # Rounded *up* to the 0.1 point it is printed with: the printed figure is then the drop
        # the suite detects with at least 80% power, where rounding to nearest could understate it.
        detectable = math.ceil(round(detectable * 1000, 6)) / 1000
    if detectable > result.largest_drop + _SLACK:
        detectable = math.inf  # e.g. 79pt quoted for a baseline at 60%: no such drop can happen
    if result.compared == 0:
        decision = Decision.NOT_COMPARED
    else:
        decision = decide(result.drop, p_drop, p_rise, alpha=result.alpha, margin=result.margin)
    return replace(
        result,
        p_adjusted=p_drop,
        p_rise_adjusted=p_rise,
        decision=decision,
        detectable_drop=detectable,
        family=family,
    )


def _check_options(alpha: float, margin: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (e.g. 0.05), got {alpha!r}")
    if not 0.0 <= margin < math.inf:
        raise ValueError(f"margin must be a finite number >= 0 (e.g. 0.02 for 2 points), got {margin!r}")


def _is_bool(value: object) -> bool:
    # 0/1 integers and numpy's bool_ are what JSON records and arrays hand over for pass/fail.
    return (isinstance(value, int) and value in (0, 1)) or type(value).__name__ == "bool_"


def _is_sampled(outcome: object) -> bool:
    return not (outcome is True or outcome is False) and isinstance(outcome, Sequence) and len(outcome) > 1


def _sample_count(outcome: object) -> int:
    return len(outcome) if isinstance(outcome, Sequence) and not isinstance(outcome, str | bytes) else 1


def _fraction(case: str, outcome: object) -> float:
    samples = _samples(case, outcome)
    return sum(1 for sample in samples if sample) / len(samples)


def _state(case: str, outcome: object) -> State:
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


def _case_mean(case: str, score: object) -> float:
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
