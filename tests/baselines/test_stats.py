"""The regression gate's statistics against hand-worked numbers, scipy and a quick simulation."""

from __future__ import annotations

import math
import random

import pytest

from pytest_llmeval.baselines.stats import (
    FRACTIONS_METHOD,
    Decision,
    compare_pass_fail,
    compare_scores,
    detectable_drop_pass_fail,
    detectable_drop_scores,
    gate,
    holm,
    mcnemar_exact,
    paired_rate_interval,
    pass_fail_p,
    sign_flip_p,
)


def runs(size: int, both_pass: int, to_fail: int, to_pass: int) -> tuple[dict[str, bool], dict[str, bool]]:
    """A baseline and a current run of ``size`` cases with the given paired table."""
    baseline, current = {}, {}
    kinds = [(True, True)] * both_pass + [(True, False)] * to_fail + [(False, True)] * to_pass
    kinds += [(False, False)] * (size - len(kinds))
    for index, (before, after) in enumerate(kinds):
        baseline[f"q{index:04d}"], current[f"q{index:04d}"] = before, after
    return baseline, current


def test_mcnemar_exact_by_hand_and_against_scipy() -> None:
    from scipy.stats import binomtest

    # b=8, c=1: P(X >= 8 | 9, 1/2) = (C(9,8) + C(9,9)) / 2**9 = 10/512
    assert mcnemar_exact(8, 1) == 10 / 512 == pytest.approx(0.0195, abs=1e-4)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 7) == 1.0
    for b, c in [(8, 1), (3, 3), (12, 10), (0, 5), (24, 0), (1, 23)]:
        assert mcnemar_exact(b, c) == pytest.approx(binomtest(b, b + c, 0.5, alternative="greater").pvalue)


def test_exact_below_25_discordant_pairs_and_paired_z_from_25() -> None:
    p_drop, p_rise, method = pass_fail_p(14, 10, 100)
    assert method == "McNemar exact"
    assert p_drop == mcnemar_exact(14, 10) and p_rise == mcnemar_exact(10, 14)

    # b=15, c=10, n=100: mean(d) = -0.05, var(d) = (25 - 100 * 0.05**2) / 99 = 0.25,
    # SE = sqrt(0.25 / 100) = 0.05, so z = -1 exactly and p = Phi(-1) = 0.158655.
    p_drop, p_rise, method = pass_fail_p(15, 10, 100)
    assert method == "paired z"
    assert p_drop == pytest.approx(0.158655, abs=1e-6)
    assert p_rise == pytest.approx(1 - 0.158655, abs=1e-6)


def test_a_clear_regression_gives_designs_summary_line() -> None:
    baseline, current = runs(1000, both_pass=805, to_fail=37, to_pass=10)
    result = compare_pass_fail("support_answers", baseline, current)

    assert result.decision is Decision.REGRESSED and result.fails_run
    assert (result.baseline_value, result.current_value) == (0.842, 0.815)
    assert result.delta == pytest.approx(-0.027)
    assert result.interval[0] < result.delta < result.interval[1] < 0
    # z = -0.027 / sqrt((47 - 1000 * 0.027**2) / 999 / 1000) = -3.97 -> one-sided p = 3.63e-5
    assert result.p_value == pytest.approx(3.635e-5, rel=1e-3)
    assert result.method == "paired z" and result.compared == 1000 and result.discordant == 47
    assert len(result.flips_to_fail) == 37 and result.flips_to_fail[0] == "q0805"
    line = "support_answers  pass 0.842 -> 0.815  d -2.7pt [-4.1,-1.4]  p<0.0001  REGRESSED"
    assert result.summary_line() == line + "  37 flipped pass->fail"
    assert "10 flipped fail->pass" in result.detail_line()


def test_newcombe_interval_matches_the_published_example() -> None:
    # Cavo et al. 2012 as tabulated in the R package contingencytables (Fagerland et al.):
    # Newcombe square-and-add, estimate -0.0621, 95% CI -0.1186 to -0.0046.
    low, high = paired_rate_interval(both_pass=59, to_fail=16, to_pass=6, both_fail=80)
    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046)
    assert paired_rate_interval(0, 0, 0, 0) == pytest.approx((math.nan, math.nan), nan_ok=True)
    low, high = paired_rate_interval(both_pass=50, to_fail=0, to_pass=0, both_fail=0)
    assert -1.0 <= low < 0.0 < high <= 1.0


def test_identical_runs_are_ok_with_p_one() -> None:
    baseline, current = runs(300, both_pass=200, to_fail=0, to_pass=0)
    result = compare_pass_fail("suite", baseline, current)
    assert result.decision is Decision.OK and not result.fails_run
    assert result.p_value == result.p_adjusted == result.p_rise == 1.0
    assert result.delta == 0.0 and result.flips_to_fail == result.flips_to_pass == ()
    assert result.summary_line().endswith("d +0.0pt [-0.8,0.8]  p=1.0000  OK  0 flipped pass->fail")
    # No flips at all (greedy reruns): here the margin binds (b - c must pass 300 * 0.02 = 6), so
    # 7 flips are needed, which a Poisson count reaches 80% of the time at a mean of 9.08 flips:
    # 9.08 / 300 = 3.03 points, quoted rounded up to the 0.1 point it is printed with.
    raw = detectable_drop_pass_fail(300, 0, alpha=0.05, margin=0.02)
    assert raw * 300 == pytest.approx(9.08, abs=0.01)
    assert result.detectable_drop == math.ceil(raw * 1000) / 1000 == 0.031
    assert "smallest detectable drop 3.1pt (300 paired cases, McNemar exact" in result.detail_line()

    scores = {f"q{i}": i / 10 for i in range(10)}
    assert compare_scores("suite", scores, dict(scores)).p_value == 1.0
    assert compare_scores("suite", scores, dict(scores)).decision is Decision.OK


def test_a_drop_past_the_margin_without_evidence_is_a_warning() -> None:
    baseline, current = runs(50, both_pass=30, to_fail=3, to_pass=1)
    result = compare_pass_fail("suite", baseline, current)
    assert result.p_value == pytest.approx(5 / 16)  # P(X >= 3 | 4, 1/2)
    assert result.drop == pytest.approx(0.04)
    assert result.decision is Decision.WARNING and not result.fails_run


def test_a_significant_drop_within_the_margin_is_ok() -> None:
    baseline, current = runs(5000, both_pass=3000, to_fail=130, to_pass=50)
    result = compare_pass_fail("suite", baseline, current)
    assert result.p_value < 1e-6
    assert result.drop == pytest.approx(0.016)
    assert result.decision is Decision.OK


def test_exactly_the_margin_is_not_past_it() -> None:
    baseline, current = runs(50, both_pass=30, to_fail=1, to_pass=0)  # 1 flip in 50: exactly 2 points
    assert compare_pass_fail("suite", baseline, current).decision is Decision.OK


def test_a_significant_rise_is_improved_and_never_fails() -> None:
    baseline, current = runs(50, both_pass=30, to_fail=1, to_pass=8)
    result = compare_pass_fail("suite", baseline, current)
    assert result.p_rise == pytest.approx(0.0195, abs=1e-4)
    assert result.decision is Decision.IMPROVED and not result.fails_run
    assert "IMPROVED  1 flipped pass->fail" in result.summary_line()


def test_holm_on_a_known_example() -> None:
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> raised to 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert holm([0.5, 0.6]) == (1.0, 1.0)
    assert holm([]) == ()
    with pytest.raises(ValueError, match=r"p-values must be in \[0, 1\]"):
        holm([0.5, 1.5])


def test_gate_holm_adjusts_the_runs_metrics_together() -> None:
    baseline, current = runs(50, both_pass=30, to_fail=8, to_pass=1)
    alone = compare_pass_fail("a", baseline, current)
    assert alone.decision is Decision.REGRESSED and alone.p_adjusted == pytest.approx(10 / 512)

    unchanged = compare_pass_fail("b", *runs(50, both_pass=30, to_fail=0, to_pass=0))
    shaky = compare_pass_fail("c", *runs(50, both_pass=30, to_fail=2, to_pass=2))
    gated = gate([alone, unchanged, shaky])
    assert gated[0].p_value == alone.p_value
    assert gated[0].p_adjusted == pytest.approx(3 * 10 / 512)
    assert gated[0].decision is Decision.WARNING  # 0.059 is no longer below 0.05
    assert [g.decision for g in gated[1:]] == [Decision.OK, Decision.OK]
    # The detectable drop is re-quoted at alpha / 3, so it can only grow.
    assert gated[2].detectable_drop >= shaky.detectable_drop
    assert gated[2].family == 3 and "alpha 0.05/3" in gated[2].detail_line()
    assert gate(gated) == gated
    assert gate([alone]) == (alone,)


def test_new_and_removed_cases_are_listed_not_tested() -> None:
    baseline = {"a": True, "b": True, "d": False, "old": True}
    current = {"a": False, "b": True, "d": [True], "new": False}
    result = compare_pass_fail("suite", baseline, current)
    assert result.flips_to_fail == ("a",) and result.flips_to_pass == ("d",)
    assert result.new_ids == ("new",) and result.removed_ids == ("old",)
    assert result.compared == 3 and result.discordant == 2 and result.method == "McNemar exact"
    assert "1 new; 1 removed" in result.detail_line() and "3 paired cases" in result.detail_line()


def test_sampled_cases_are_compared_by_pass_fraction_and_none_is_left_out() -> None:
    baseline = {"a": True, "b": (True, True, True), "c": (True, False, True), "d": False, "old": True}
    current = {"a": False, "b": (True, True, False), "c": (True, True, True), "d": [True, 1], "new": False}
    result = compare_pass_fail("suite", baseline, current)
    assert result.method == FRACTIONS_METHOD and result.kind == "pass"
    assert result.compared == 4  # flaky b and c are paired, not dropped
    # A flip is a case whose majority changed: b (3/3 -> 2/3) still passes, c (2/3 -> 3/3) passed.
    assert result.flips_to_fail == ("a",) and result.flips_to_pass == ("d",)
    assert result.flaky_ids == ("b", "c")
    # Fractions: a 1 -> 0, b 1 -> 2/3, c 2/3 -> 1, d 0 -> 1.
    assert result.baseline_value == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)
    assert result.delta == pytest.approx((-1 - 1 / 3 + 1 / 3 + 1) / 4)
    assert "2 flaky, compared by pass fraction" in result.detail_line()


def test_a_sampled_suite_that_turns_flaky_regresses() -> None:
    """Every case passed 3 of 3 samples and now passes 1 of 3: under the old rule every case
    was flaky and left out (nothing compared); by pass fraction it is a clear drop."""
    baseline = {f"c{i}": (True, True, True) for i in range(30)}
    current = {f"c{i}": (True, False, False) for i in range(30)}
    result = compare_pass_fail("suite", baseline, current, critical={"c0"})
    assert result.decision is Decision.REGRESSED and result.compared == 30
    assert result.critical_flips == ("c0",)  # lost its majority of passing samples
    same = compare_pass_fail("suite", baseline, dict(baseline))
    assert same.decision is Decision.OK and same.p_value == 1.0


def test_the_detectable_drop_never_exceeds_what_the_baseline_allows() -> None:
    # Baseline pass rate 0.6 on 10 cases: no drop above 60 points can happen.
    baseline, current = runs(10, both_pass=5, to_fail=1, to_pass=0)
    result = compare_pass_fail("s", baseline, current)
    assert result.largest_drop == pytest.approx(0.6)
    assert math.isinf(result.detectable_drop)
    assert "drop none within the 60.0pt the baseline's value allows" in result.detail_line()


def test_a_regressed_verdict_never_sits_next_to_no_detectable_drop() -> None:
    rng = random.Random(3)
    seen = 0
    for _ in range(1000):
        size = rng.randint(1, 40)
        baseline = {f"c{i}": rng.random() < 0.7 for i in range(size)}
        current = {
            i: (v and rng.random() < 0.4) or (not v and rng.random() < 0.05) for i, v in baseline.items()
        }
        result = compare_pass_fail("s", baseline, current)
        assert result.detectable_drop <= result.largest_drop or math.isinf(result.detectable_drop)
        if result.decision is Decision.REGRESSED:
            seen += 1
            assert "no drop" not in result.detail_line()
    assert seen > 50


def test_critical_flips_are_reported_separately_and_fail_the_run() -> None:
    baseline, current = runs(200, both_pass=150, to_fail=1, to_pass=1)
    result = compare_pass_fail("suite", baseline, current, critical={"q0150", "q0000"})
    assert result.decision is Decision.OK
    assert result.critical_flips == ("q0150",) and result.fails_run
    assert result.detail_line().endswith("CRITICAL pass->fail: q0150")

    quiet = compare_pass_fail("suite", baseline, current, critical=["q0000"])
    assert quiet.critical_flips == () and not quiet.fails_run


@pytest.mark.parametrize("size", [0, 1, 2])
def test_degenerate_sizes_never_crash(size: int) -> None:
    for baseline, current in [runs(size, size, 0, 0), runs(size, 0, 0, 0), runs(size, 0, size, 0)]:
        result = compare_pass_fail("tiny", baseline, current)
        assert result.p_value == result.p_adjusted
        assert result.detectable_drop == math.inf
        assert result.summary_line().startswith("tiny  pass ")
        assert result.decision in (Decision.OK, Decision.WARNING, Decision.NOT_COMPARED)
        assert (result.decision is Decision.NOT_COMPARED) == (size == 0)
    empty = compare_pass_fail("tiny", {}, {})
    assert empty.decision is Decision.NOT_COMPARED and empty.p_value == 1.0 and not empty.fails_run
    assert empty.summary_line() == "tiny  pass  NOT COMPARED (no paired cases)"
    assert "smallest detectable drop none (no paired cases)" in empty.detail_line()
    scored = compare_scores("tiny", {f"q{i}": 0.5 for i in range(size)}, {f"q{i}": 0.1 for i in range(size)})
    assert scored.decision in (Decision.OK, Decision.WARNING, Decision.NOT_COMPARED)
    assert (scored.decision is Decision.NOT_COMPARED) == (size == 0)
    assert scored.summary_line().startswith("tiny  score ")


def test_all_pass_on_both_sides() -> None:
    baseline, current = runs(400, both_pass=400, to_fail=0, to_pass=0)
    result = compare_pass_fail("suite", baseline, current)
    assert result.decision is Decision.OK and result.p_value == 1.0
    assert (result.baseline_value, result.current_value) == (1.0, 1.0)
    assert -1.0 <= result.interval[0] < 0.0 < result.interval[1] <= 1.0


def test_scores_sign_flip_is_exact_for_small_suites() -> None:
    baseline = {f"q{i}": 0.8 for i in range(5)}
    current = {f"q{i}": 0.7 for i in range(5)}
    result = compare_scores("suite", baseline, current, metric="rougeL")
    assert result.p_value == 1 / 32  # only the observed sign pattern is as low
    assert result.decision is Decision.REGRESSED
    assert result.delta == pytest.approx(-0.1)
    assert result.summary_line() == (
        "suite  rougeL 0.800 -> 0.700  d -10.0pt [-10.0,-10.0]  p=0.0312  REGRESSED"
    )
    four = compare_scores("suite", {k: 0.8 for k in list(baseline)[:4]}, current)
    assert four.p_value == 1 / 16 and four.decision is Decision.WARNING
    assert four.removed_ids == () and four.new_ids == ("q4",)


def test_scores_with_noise_samples_and_direction() -> None:
    rng = random.Random(3)
    baseline = {f"q{i}": [rng.random() for _ in range(3)] for i in range(200)}
    current = {
        case: [max(0.0, s - 0.08 + rng.gauss(0, 0.05)) for s in samples] for case, samples in baseline.items()
    }
    result = compare_scores("suite", baseline, current, metric="chrf")
    assert result.decision is Decision.REGRESSED and result.p_value < 0.001
    assert result.interval[0] < result.delta < result.interval[1] < 0
    assert result.method == "sign-flip permutation"
    assert result.detectable_drop >= result.margin

    # Perplexity: lower is better, so a rise is the regression; not a 0-1 metric, so no points.
    before = {f"q{i}": 10.0 + i % 3 for i in range(40)}
    worse = {case: value + 0.5 for case, value in before.items()}
    ppl = compare_scores("suite", before, worse, metric="ppl", higher_is_better=False, margin=0.2)
    assert ppl.decision is Decision.REGRESSED and ppl.drop == pytest.approx(0.5)
    assert "d +0.500 [0.500,0.500]" in ppl.summary_line()
    better = compare_scores("suite", before, worse, metric="ppl", margin=0.2)
    assert better.decision is Decision.IMPROVED


def test_sign_flip_p_by_hand() -> None:
    # Gains (+1, +1, -1): sums over the 8 sign patterns are 3, 1, 1, 1, -1, -1, -1, -3;
    # the observed +1 is matched or beaten upward by 4 of 8 and downward by 7 of 8.
    assert sign_flip_p([1.0, 1.0, -1.0]) == (7 / 8, 4 / 8)
    assert sign_flip_p([]) == (1.0, 1.0)
    # No draw reaches 40 equal drops: the p is Hoeffding's bound exp(-t^2 / 2 sum d^2) = exp(-20),
    # not the draws' floor 1/2001.
    drop, rise = sign_flip_p([-0.01] * 40, seed=1)
    assert drop == pytest.approx(math.exp(-20)) and rise == 1.0
    assert sign_flip_p([0.3, -0.1] * 30, seed=5) == sign_flip_p([0.3, -0.1] * 30, seed=5)


def test_detectable_drop_floor_and_large_suite_formula() -> None:
    from scipy.stats import poisson

    # No discordant pair at all (greedy reruns): the exact test needs 5 flips at alpha 0.05, so
    # the quoted drop is the expected flip count that reaches 5 with 80% chance, over n.
    floor = detectable_drop_pass_fail(500, 0, alpha=0.05, margin=0.0)
    assert poisson.sf(4, floor * 500) == pytest.approx(0.8, abs=1e-3)
    assert floor * 500 == pytest.approx(6.72, abs=0.01)

    # Large suite, r = 0.4, no margin: d = (z_0.95 + z_0.8) * sqrt((r + d) / n).
    drop = detectable_drop_pass_fail(5000, 2000, alpha=0.05, margin=0.0)
    assert drop == pytest.approx((1.6449 + 0.8416) * math.sqrt((0.4 + drop) / 5000), rel=0.02)
    assert detectable_drop_pass_fail(100_000, 100, alpha=0.05, margin=0.02) == pytest.approx(0.02, rel=0.02)
    assert detectable_drop_pass_fail(100_000, 100, alpha=0.05, margin=0.02) >= 0.02
    assert detectable_drop_pass_fail(0, 0, alpha=0.05, margin=0.02) == math.inf
    assert detectable_drop_pass_fail(4, 4, alpha=0.05, margin=0.02) == math.inf
    # More noise, or a stricter alpha, can only need a larger drop.
    assert detectable_drop_pass_fail(500, 200, alpha=0.05, margin=0.02) > floor
    assert detectable_drop_pass_fail(500, 200, alpha=0.01, margin=0.02) > detectable_drop_pass_fail(
        500, 200, alpha=0.05, margin=0.02
    )

    assert detectable_drop_scores(400, 0.2, alpha=0.05, margin=0.0) == pytest.approx(2.4865 * 0.01, rel=1e-3)
    assert detectable_drop_scores(400, 0.0, alpha=0.05, margin=0.02) == 0.02
    assert detectable_drop_scores(4, 0.2, alpha=0.05, margin=0.02) == math.inf


def test_bad_options_and_outcomes_raise_before_any_work() -> None:
    baseline, current = runs(10, 5, 1, 1)
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        compare_pass_fail("suite", baseline, current, alpha=1.5)
    with pytest.raises(ValueError, match="margin must be a finite number"):
        compare_scores("suite", {}, {}, margin=-0.1)
    with pytest.raises(ValueError, match="not the single string 'q0001'"):
        compare_pass_fail("suite", baseline, current, critical="q0001")
    with pytest.raises(ValueError, match=r"case 'q0003': a pass/fail outcome is a bool .* got 0\.7"):
        compare_pass_fail("suite", {**baseline, "q0003": 0.7}, current)
    with pytest.raises(ValueError, match="non-empty sequence"):
        compare_pass_fail("suite", baseline, {**current, "q0001": ()})
    with pytest.raises(ValueError, match="case 'x': a score is a finite number"):
        compare_scores("suite", {"x": math.nan}, {"x": 0.5})
    with pytest.raises(ValueError, match="case 'x': a score is a finite number"):
        compare_scores("suite", {"x": [0.5, "high"]}, {"x": 0.5})  # type: ignore[list-item]


def test_simulated_null_runs_rarely_regress() -> None:
    """Sampling noise only (each case drawn twice from the same Beta(2,2) pass probability):
    the rule must call REGRESSED at most about alpha of the time; greedy reruns never."""
    rng = random.Random(2024)
    size, trials = 200, 300
    ids = [f"q{i}" for i in range(size)]
    regressed = 0
    for _ in range(trials):
        chances = [rng.betavariate(2, 2) for _ in ids]
        baseline = {case: rng.random() < p for case, p in zip(ids, chances, strict=True)}
        current = {case: rng.random() < p for case, p in zip(ids, chances, strict=True)}
        regressed += compare_pass_fail("sim", baseline, current).decision is Decision.REGRESSED
        assert compare_pass_fail("sim", baseline, dict(baseline)).decision is Decision.OK
    # Expected near 0.05; 0.08 leaves room for the simulation's own noise (SD 0.013 at 300 runs).
    assert regressed / trials <= 0.08


def test_the_tail_bound_never_undercuts_the_exact_sign_flip_p_on_random_drops() -> None:
    """Below the draws' floor the p is Hoeffding's bound, which must stay at or above the exact
    p (every one of the 2**16 sign patterns counted) on random gains of 16 cases. 100 draws put
    the floor at 1/101, so the bound is taken often."""
    import numpy as np

    rng = random.Random(7)
    signs = 1 - 2 * ((np.arange(1 << 16)[:, None] >> np.arange(16)) & 1)
    below_floor = 0
    for _ in range(300):
        gains = [rng.gauss(-rng.uniform(0.0, 3.0), 1.0) for _ in range(16)]
        exact = float(np.mean(signs @ np.array(gains) <= sum(gains) + 1e-9))
        drop, _ = sign_flip_p(gains, resamples=100, seed=rng.randrange(1000))
        if drop < 1 / 101:
            below_floor += 1
            assert drop >= exact, (gains, drop, exact)
    assert below_floor > 20  # the bound was reached often enough to be tested


def test_a_large_clear_drop_regresses_at_a_strict_holm_level() -> None:
    """500 cases, each 30 points lower: once stuck at p = 1/2001 by the draws, which a family of
    120 metrics (alpha 0.05/120) or alpha 0.0004 never reaches, so it read as noise."""
    baseline = {f"c{i}": 0.8 for i in range(500)}
    current = {f"c{i}": 0.5 + 0.001 * (i % 7) for i in range(500)}
    strict = compare_scores("suite", baseline, current, alpha=0.0004)
    assert strict.decision is Decision.REGRESSED and strict.p_value < 1e-6
    unchanged = compare_scores("suite", baseline, dict(baseline))
    family = gate([compare_scores("suite", baseline, current)] + [unchanged] * 119)
    assert family[0].decision is Decision.REGRESSED
    assert all(c.decision is Decision.OK for c in family[1:])


@pytest.mark.parametrize(
    ("compared", "discordant", "alpha"), [(200, 40, 0.05), (100, 30, 0.0125), (400, 80, 0.05)]
)
def test_the_quoted_detectable_drop_has_80_percent_power_under_its_model(
    compared: int, discordant: int, alpha: float
) -> None:
    """Simulate the model the quote assumes (c ~ Poisson(n r/2), b ~ Poisson(n (r/2 + d))) and
    apply the gate's own rule to each draw: at the quoted drop it fires at least 80% of the time
    (a normal shortcut once used above 50 expected flips quoted drops with about 77%)."""
    import numpy as np

    from pytest_llmeval.baselines.verdict import SLACK

    margin = 0.02
    drop = detectable_drop_pass_fail(compared, discordant, alpha=alpha, margin=margin)
    rng = np.random.default_rng(3)
    rises = rng.poisson(discordant / 2, 40_000)
    drops = rng.poisson(discordant / 2 + compared * drop, 40_000)
    fired: dict[tuple[int, int], bool] = {}
    for b, c in zip(drops.tolist(), rises.tolist(), strict=True):
        if (b, c) not in fired:
            past_margin = (b - c) / compared > margin + SLACK
            fired[b, c] = past_margin and b <= compared and pass_fail_p(b, c, compared)[0] < alpha
    power = sum(fired[b, c] for b, c in zip(drops.tolist(), rises.tolist(), strict=True)) / 40_000
    assert power >= 0.80 - 0.006  # three standard errors of 40,000 draws below 0.8


def test_the_shortened_poisson_sum_gives_the_plain_sums_drop_on_random_suites(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The detectable drop sums the fail->pass counts only where the Poisson has mass, and is
    memoized: on random suites it equals the plain sum from 0, computed afresh."""
    import pytest_llmeval.baselines.power as power

    rng = random.Random(11)
    suites = [
        (n, rng.randrange(0, n // 2 + 1), rng.choice([0.05, 0.01, 0.05 / 7]), rng.choice([0.0, 0.02, 0.05]))
        for n in (rng.randrange(20, 2500) for _ in range(40))
    ]
    quick = [detectable_drop_pass_fail(n, d, alpha=a, margin=m) for n, d, a, m in suites]
    monkeypatch.setattr(power, "_poisson_floor", lambda mean: 0)
    plain = [power.detectable_drop_pass_fail.__wrapped__(n, d, alpha=a, margin=m) for n, d, a, m in suites]
    assert quick == plain
