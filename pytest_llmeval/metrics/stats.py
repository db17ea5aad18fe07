"""Intervals for suite metrics: Wilson for pass rates, a seeded percentile bootstrap for the rest."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

Z95 = 1.959964


def wilson_interval(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a proportion: sound at 0%, 100% and small samples."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(
    size: int, statistic: Callable[[Sequence[int]], float], *, resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval of ``statistic`` over resampled case indices.

    ``statistic`` gets a list of case indices (drawn with replacement), so corpus-level metrics
    such as BLEU are resampled by case, not by sentence fragment. Seeded: the same run gives the
    same interval, so reports and baselines do not drift between identical runs.
    """
    if size == 0:
        return (math.nan, math.nan)
    rng = random.Random(seed)
    values = sorted(statistic([rng.randrange(size) for _ in range(size)]) for _ in range(resamples))
    return (values[int(0.025 * (resamples - 1))], values[math.ceil(0.975 * (resamples - 1))])


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan
