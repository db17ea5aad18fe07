"""``expect(output)``: fluent checks that raise in a plain test and record softly in an eval suite.

In a plain test a failed check raises ``CheckFailed`` (an AssertionError) at once, like
``assert``. Inside an eval-suite case every check is recorded and the test goes on, so one run
shows all of a case's problems; the plugin then decides the case's outcome from the record.

An output with several samples (``samples=K`` or ``n=K``) is checked sample by sample. A plain
test needs every sample to pass; a suite case records which samples passed (for pass@k and
flaky-case detection) and passes a check when a majority of samples do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import checks
from .checks.result import CheckResult
from .llm import Output
from .suite import active_case


class CheckFailed(AssertionError):
    """A check that failed in a plain test; the message shows the check's reason and evidence."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.line())
        self.result = result


class Expectation:
    """Checks over one output. Each method returns the expectation, so checks chain."""

    def __init__(self, output: Any) -> None:
        self.output = output
        self.results: list[CheckResult] = []

    def check(self, result: CheckResult) -> Expectation:
        """Record or raise one CheckResult: the hook for custom checks."""
        __tracebackhide__ = True  # a failure points at the user's line, not at this module
        self.results.append(result)
        active = active_case()
        if active is not None:
            active.checks.append(result)
        elif not result.passed:
            raise CheckFailed(result)
        return self

    def check_each(self, check: Callable[..., CheckResult], *args: Any, **kwargs: Any) -> Expectation:
        """Run ``check(text, *args, **kwargs)`` on the output, or on each of its samples."""
        __tracebackhide__ = True
        samples = self.output.samples if isinstance(self.output, Output) else ()
        if len(samples) < 2:
            return self.check(check(str(self.output), *args, **kwargs))
        results = [check(sample, *args, **kwargs) for sample in samples]
        active = active_case()
        if active is not None:
            active.record_samples([r.passed for r in results])
        return self.check(_over_samples(results, majority=active is not None))

    def contains(self, *needles: str, any_of: bool = False, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.contains, *needles, any_of=any_of, case=case)

    def not_contains(self, *needles: str, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.not_contains, *needles, case=case)

    def equals(self, expected: str, *, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.equals, expected, case=case)

    def matches(self, pattern: str, *, flags: int = 0) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.matches, pattern, flags=flags)

    def number(self, expected: float | str, *, tolerance: float = 0.0) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.number, expected, tolerance=tolerance)


def _over_samples(results: list[CheckResult], *, majority: bool) -> CheckResult:
    """One check's results on K samples as one result: the score is the fraction that passed."""
    good = sum(r.passed for r in results)
    passed = good * 2 > len(results) if majority else good == len(results)
    failures = [(i, r) for i, r in enumerate(results, 1) if not r.passed]
    reason = f"passed on {good}/{len(results)} samples"
    if failures:
        first, result = failures[0]
        reason += f"; sample {first}: {result.reason}"
    evidence = failures[0][1].evidence if failures else results[0].evidence
    return CheckResult(results[0].name, passed, reason, good / len(results), evidence)


def expect(output: Any) -> Expectation:
    return Expectation(output)
