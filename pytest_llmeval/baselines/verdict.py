"""The regression gate's rule on one metric, and the comparison it decides.

``decide`` is the rule (see :mod:`.stats`); ``Comparison`` is one metric of one suite, baseline vs
current, with its p-values, interval, detectable drop and decision, and prints itself as the
gate's summary and detail lines. The rule's defaults are in :mod:`pytest_llmeval.gate_defaults`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Literal

POWER = 0.80  # the power at which the detectable drop is quoted
# A drop of exactly the margin is not "past" it; the slack absorbs float rounding such as 0.5 - 0.48.
SLACK = 1e-12


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

    def _amount(self, value: float) -> str:
        """A drop as printed: in points (x100) for a 0-1 metric, else in the metric's units."""
        return f"{100 * value:.1f}pt" if self.in_points else f"{value:.3f}"

    def detail_line(self) -> str:
        """What the summary line leaves out: the drop the suite could have detected, and the cases
        that were not compared or must fail the run."""
        cap = self.largest_drop
        if self.compared == 0:
            detectable = "none (no paired cases)"
        elif cap <= 0.0:
            detectable = "none: the baseline is at 0, it cannot drop"
        elif math.isinf(self.detectable_drop) and math.isfinite(cap):
            detectable = f"none within the {self._amount(cap)} the baseline's value allows (too few cases)"
        elif math.isinf(self.detectable_drop):
            detectable = "unbounded (too few cases)"
        else:
            detectable = self._amount(self.detectable_drop)
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


def decide(drop: float, p_drop: float, p_rise: float, *, alpha: float, margin: float) -> Decision:
    """The rule on one metric; ``drop`` is positive when the current run is worse (NaN: OK)."""
    if drop > margin + SLACK:
        return Decision.REGRESSED if p_drop < alpha else Decision.WARNING
    if -drop > margin + SLACK and p_rise < alpha:
        return Decision.IMPROVED
    return Decision.OK


def check_options(alpha: float, margin: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (e.g. 0.05), got {alpha!r}")
    if not 0.0 <= margin < math.inf:
        raise ValueError(f"margin must be a finite number >= 0 (e.g. 0.02 for 2 points), got {margin!r}")
