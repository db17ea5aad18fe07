"""Simulation of the regression gate's decision rule (``pytest_llmeval.regression``).

For suite sizes 50, 500 and 5,000, every simulated run draws each case's pass probability
heterogeneously (two mixes: Beta(2,2), and a suite of mostly easy or hard cases), then a baseline
and a current run independently from those same probabilities: sampling noise only, as with
temperature > 0. Measured per size and mix:

1. the false-regression rate over ``--runs`` null runs (target: at most alpha + 1 point = 6%);
2. the detectable drop the rule prints (the median over the null runs);
3. the power at that drop over ``--power-runs`` runs whose current probabilities are shifted on
   the logit scale so the expected pass rate drops by exactly that amount (target: at least 80%;
   twice the null runs by default, as the quoted drop is calibrated close to 80% on large suites,
   where the margin binds, and 2,000 runs would leave a standard error of 0.9 points);
4. greedy reruns (current = baseline, no flips): all must be OK.

Sampled suites (``samples=3``: each case drawn three times per run, compared by each case's
fraction of passing samples) get the same rows at 50 cases; the sign-flip test they use costs
more per run, so they get fewer runs (``--sampled-runs``).

Every run goes through ``compare_pass_fail`` itself, dicts of case ids and all.
Run: ``.venv/bin/python bench/bench_regression.py [--runs 2000] [--power-runs 4000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from pytest_llmeval.baselines.stats import DEFAULT_ALPHA, Comparison, Decision, Outcome, compare_pass_fail
from pytest_llmeval.metrics.stats import wilson_interval

SIZES = (50, 500, 5000)
SAMPLED_SIZES = (50,)
SAMPLES = 3
TARGET_FALSE_RATE = DEFAULT_ALPHA + 0.01
TARGET_POWER = 0.80

Probabilities = Callable[[np.random.Generator, int], np.ndarray]


def beta_2_2(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.beta(2.0, 2.0, size)


def easy_and_hard(rng: np.random.Generator, size: int) -> np.ndarray:
    # Real suites are mostly cases a model nearly always passes or nearly always fails, with a
    # minority in between: 45% easy, 25% hard, 30% uncertain.
    kind = rng.choice(3, size=size, p=[0.45, 0.25, 0.30])
    easy, hard, middle = rng.beta(12.0, 1.0, size), rng.beta(1.0, 12.0, size), rng.beta(2.0, 2.0, size)
    return np.choose(kind, [easy, hard, middle])


MIXES: dict[str, Probabilities] = {"beta(2,2)": beta_2_2, "easy/hard": easy_and_hard}


def lowered(probabilities: np.ndarray, drop: float) -> np.ndarray:
    """The probabilities shifted down on the logit scale so their mean falls by ``drop``.

    A logit shift moves uncertain cases most and near-certain ones least, as a slightly worse
    model would; the shift is found by bisection so the expected drop is exact.
    """
    logits = np.log(probabilities) - np.log1p(-probabilities)
    target = probabilities.mean() - drop
    low, high = 0.0, 60.0
    for _ in range(60):
        shift = (low + high) / 2
        if (1.0 / (1.0 + np.exp(shift - logits))).mean() > target:
            low = shift
        else:
            high = shift
    return 1.0 / (1.0 + np.exp(high - logits))


def simulate(
    rng: np.random.Generator, ids: list[str], before: np.ndarray, after: np.ndarray, samples: int = 1
) -> Comparison:
    def draw(probabilities: np.ndarray) -> dict[str, Outcome]:
        if samples == 1:
            return dict(zip(ids, (rng.random(len(ids)) < probabilities).tolist(), strict=True))
        passes = rng.random((len(ids), samples)) < probabilities[:, None]
        return {case: tuple(row) for case, row in zip(ids, passes.tolist(), strict=True)}

    return compare_pass_fail("bench", draw(before), draw(after))


def bench(mix: str, size: int, runs: int, power_runs: int, seed: int, samples: int = 1) -> dict[str, float]:
    draw = MIXES[mix]
    rng = np.random.default_rng(seed)
    ids = [f"case{i}" for i in range(size)]
    start = time.perf_counter()
    regressed = warned = 0
    detectable: list[float] = []
    for _ in range(runs):
        probabilities = np.clip(draw(rng, size), 1e-9, 1 - 1e-9)
        result = simulate(rng, ids, probabilities, probabilities, samples)
        regressed += result.decision is Decision.REGRESSED
        warned += result.decision is Decision.WARNING
        detectable.append(result.detectable_drop)
    drop = statistics.median(detectable)
    caught = 0
    for _ in range(power_runs):
        probabilities = np.clip(draw(rng, size), 1e-9, 1 - 1e-9)
        result = simulate(rng, ids, probabilities, lowered(probabilities, drop), samples)
        caught += result.decision is Decision.REGRESSED
    greedy_ok = 0
    for _ in range(100):
        passes = (rng.random((size, samples)) < draw(rng, size)[:, None]).tolist()
        outcomes: dict[str, Outcome] = {
            c: tuple(p) if samples > 1 else p[0] for c, p in zip(ids, passes, strict=True)
        }
        greedy_ok += compare_pass_fail("bench", outcomes, dict(outcomes)).decision is Decision.OK
    return {
        "false_rate": regressed / runs,
        "false_high": wilson_interval(regressed, runs)[1],
        "warning_rate": warned / runs,
        "detectable": drop,
        "power": caught / power_runs,
        "power_low": wilson_interval(caught, power_runs)[0],
        "greedy_ok": greedy_ok / 100,
        "seconds": time.perf_counter() - start,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="null runs per row")
    parser.add_argument("--power-runs", type=int, default=4000, help="runs with the drop, per row")
    parser.add_argument("--sampled-runs", type=int, default=1000, help="null and power runs, sampled rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    print(
        f"alpha {DEFAULT_ALPHA}, margin 2pt; targets: false-regression <= {TARGET_FALSE_RATE:.0%}, "
        f"power at the printed detectable drop >= {TARGET_POWER:.0%}; [Wilson 95% interval]"
    )
    header = (
        f"{'mix':<10} {'size':>5} {'samples':>7} {'null runs':>9}  {'false-regr. [95%]':<20} {'warning':>7}  "
        f"{'detectable':>10}  {'power runs':>10}  {'power [95%]':<18} {'greedy OK':>9} {'seconds':>7}"
    )
    print(header)
    met = True
    rows = [(mix, size, 1, args.runs, args.power_runs) for mix in MIXES for size in args.sizes]
    rows += [
        (mix, size, SAMPLES, args.sampled_runs, args.sampled_runs) for mix in MIXES for size in SAMPLED_SIZES
    ]
    for mix, size, samples, runs, power_runs in rows:
        row = bench(mix, size, runs, power_runs, args.seed + size, samples)
        met &= row["false_rate"] <= TARGET_FALSE_RATE and row["power"] >= TARGET_POWER
        met &= row["greedy_ok"] == 1.0
        print(
            f"{mix:<10} {size:>5} {samples:>7} {runs:>9}  "
            f"{row['false_rate']:>6.1%} [<={row['false_high']:.1%}]{'':<5} {row['warning_rate']:>7.1%}  "
            f"{100 * row['detectable']:>8.1f}pt  {power_runs:>10}  "
            f"{row['power']:>6.1%} [>={row['power_low']:.1%}]{'':<2} "
            f"{row['greedy_ok']:>9.0%} {row['seconds']:>7.1f}",
            flush=True,
        )
    print("all targets met" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
