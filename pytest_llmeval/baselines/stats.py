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

The tests themselves are in :mod:`.paired`, the detectable drop in :mod:`.power`, the rule and
the ``Comparison`` it decides in :mod:`.verdict`, and the per-case inputs in :mod:`.outcomes`;
this module compares two runs' outcomes with them and adjusts a run's metrics together (Holm),
and re-exports their public names.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from statistics import fmean, stdev

from ..gate_defaults import DEFAULT_ALPHA, DEFAULT_MARGIN
from ..metrics.stats import bootstrap_mean_interval
from .outcomes import Outcome, Score, State, case_mean, is_sampled, outcome_state, pass_fraction, sample_count
from .paired import (
    EXACT_BELOW,
    SIGN_FLIPS,
    mcnemar_exact,
    paired_rate_interval,
    paired_z,
    pass_fail_p,
    sign_flip_p,
)
from .power import detectable_drop_pass_fail, detectable_drop_scores
from .verdict import (
    FRACTIONS_METHOD,
    POWER,
    SLACK,
    Comparison,
    Decision,
    check_options,
    decide,
)

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "DEFAULT_ALPHA",
    "DEFAULT_MARGIN",
    "EXACT_BELOW",
    "FRACTIONS_METHOD",
    "POWER",
    "SIGN_FLIPS",
    "Comparison",
    "Decision",
    "Outcome",
    "Score",
    "State",
    "compare_pass_fail",
    "compare_scores",
    "decide",
    "detectable_drop_pass_fail",
    "detectable_drop_scores",
    "gate",
    "holm",
    "mcnemar_exact",
    "paired_rate_interval",
    "paired_z",
    "pass_fail_p",
    "sign_flip_p",
]

BOOTSTRAP_RESAMPLES = 1000


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
    check_options(alpha, margin)
    if isinstance(critical, str):
        raise ValueError(f"critical must be a collection of case ids, not the single string {critical!r}")
    if any(is_sampled(outcome) for outcomes in (baseline, current) for outcome in outcomes.values()):
        return _compare_fractions(suite, baseline, current, metric, critical, alpha, margin)
    before = {case: outcome_state(case, outcome) for case, outcome in baseline.items()}
    after = {case: outcome_state(case, outcome) for case, outcome in current.items()}
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
    flipped pass->fail when it lost its majority of passing samples (the rule that decides
    whether a case passes), fail->pass when it gained one; a fraction that moved within a side
    of the majority moves the test, not the list of flips."""
    before = {case: pass_fraction(case, outcome) for case, outcome in baseline.items()}
    after = {case: pass_fraction(case, outcome) for case, outcome in current.items()}
    scored = compare_scores(suite, before, after, metric=metric, alpha=alpha, margin=margin)
    paired = sorted(before.keys() & after.keys())
    critical_ids = set(critical)
    to_fail = tuple(case for case in paired if before[case] > 0.5 and not after[case] > 0.5)
    result = replace(
        scored,
        kind="pass",
        flips_to_fail=to_fail,
        flips_to_pass=tuple(case for case in paired if not before[case] > 0.5 and after[case] > 0.5),
        critical_flips=tuple(case for case in to_fail if case in critical_ids),
        flaky_ids=tuple(case for case in paired if 0.0 < before[case] < 1.0 or 0.0 < after[case] < 1.0),
        discordant=sum(1 for case in paired if after[case] != before[case]),
        method=FRACTIONS_METHOD,
        in_points=True,
        samples=min((sample_count(o) for side in (baseline, current) for o in side.values()), default=1),
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
    check_options(alpha, margin)
    before = {case: case_mean(case, score) for case, score in baseline.items()}
    after = {case: case_mean(case, score) for case, score in current.items()}
    paired = sorted(before.keys() & after.keys())
    differences = [after[case] - before[case] for case in paired]
    p_drop, p_rise = sign_flip_p(differences if higher_is_better else [-d for d in differences], seed=seed)
    n = len(paired)

    values = [before[case] for case in paired] + [after[case] for case in paired]
    result = Comparison(
        suite=suite,
        metric=metric,
        kind="score",
        baseline_value=fmean(before[case] for case in paired) if n else math.nan,
        current_value=fmean(after[case] for case in paired) if n else math.nan,
        delta=fmean(differences) if n else math.nan,
        interval=bootstrap_mean_interval(differences, resamples=BOOTSTRAP_RESAMPLES, seed=seed),
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
    if detectable > result.largest_drop + SLACK:
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
