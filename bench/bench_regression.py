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
import sys
from pathlib import Path

from pytest_llmeval.baselines.stats import DEFAULT_ALPHA

# The simulation lives with the tests, which hold it to the same targets.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.gate_simulation import (
    MIXES,
    SAMPLED_SIZES,
    SAMPLES,
    SIZES,
    TARGET_FALSE_RATE,
    TARGET_POWER,
    bench,
)


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
