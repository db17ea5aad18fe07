"""``expect(output)``: fluent checks that raise in a plain test and record softly in an eval suite.

In a plain test a failed check raises ``CheckFailed`` (an AssertionError) at once, like
``assert``. Inside an eval-suite case every check is recorded and the test goes on, so one run
shows all of a case's problems; the plugin then decides the case's outcome from the record.
"""

from __future__ import annotations

from typing import Any

from . import checks
from .checks.result import CheckResult
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

    def contains(self, *needles: str, any_of: bool = False, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check(checks.contains(str(self.output), *needles, any_of=any_of, case=case))

    def not_contains(self, *needles: str, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check(checks.not_contains(str(self.output), *needles, case=case))

    def equals(self, expected: str, *, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check(checks.equals(str(self.output), expected, case=case))

    def matches(self, pattern: str, *, flags: int = 0) -> Expectation:
        __tracebackhide__ = True
        return self.check(checks.matches(str(self.output), pattern, flags=flags))

    def number(self, expected: float | str, *, tolerance: float = 0.0) -> Expectation:
        __tracebackhide__ = True
        return self.check(checks.number(str(self.output), expected, tolerance=tolerance))


def expect(output: Any) -> Expectation:
    return Expectation(output)
