"""The simulation of the regression gate's decision rule that ``bench/bench_regression.py`` prints
and ``tests/test_regression_simulation.py`` holds to its targets (see the bench for the method).

Not a test module: the test and the bench both import it from here.
"""

from __future__ import annotations

import statistics
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
