"""The report of a whole run as one versioned, JSON-able document.

Every renderer (HTML, Markdown, history) reads this model and nothing else, so a report saved
with ``--llmeval-report-json`` can be rendered again later, on another machine, without the run.
Non-finite numbers (an infinite detectable drop, a NaN delta) are written as the JSON strings
``"Infinity"`` and ``"NaN"``: the file stays standard JSON that any parser reads.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..baselines.compare import CaseView, prompt_hash
from ..baselines.stats import Comparison, Decision
from ..documents import validated

SCHEMA_VERSION = 1

Verdict = Literal["REGRESSED", "NOT COMPARED", "FAILED", "WARNING", "IMPROVED", "OK"]


class ReportError(ValueError):
    """A report file that cannot be used; the message names the file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="strings")


class MetricReport(_Model):
    name: str
    value: float
    low: float | None = None
    high: float | None = None
    n: int | None = None


class CheckReport(_Model):
    name: str
    passed: bool
    reason: str
    evidence: tuple[str, ...] = ()  # spans of the output that decided the check


class CaseReport(_Model):
    id: str
    prompt: str | None = None
    output: str | None = None
    expected: str | None = None
    samples: tuple[str, ...] = ()
    sample_passes: tuple[bool, ...] = ()  # each sample passed every check (samples=K)
    passed: bool
    critical: bool = False
    error: bool = False  # the test raised something that is not a check failure
    tags: tuple[str, ...] = ()
    checks: tuple[CheckReport, ...] = ()
    scores: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field(default_factory=dict)
    timing: dict[str, float] = Field(default_factory=dict)
    duration: float = 0.0
    # From the baseline the run was compared with; None when it has no entry for this case (or
    # the case now asks something else) or was recorded without outputs.
    baseline_passed: bool | None = None
    baseline_output: str | None = None
    input_hash: str = ""  # Case.input_hash; reports written before it existed hold the prompt only

    def view(self) -> CaseView:
        """The case as the gate's comparison sees it (``pytest-llmeval compare`` pairs these)."""
        failed = self.error or not self.passed
        return CaseView(
            passed=not failed,
            samples=self.sample_passes if len(self.sample_passes) > 1 and not self.error else (),
            scores=self.scores,
            critical=self.critical,
            input_hash=self.input_hash or prompt_hash(self.prompt),
        )

    @property
    def flipped(self) -> bool:
        """Passed in the baseline and not now."""
        return self.baseline_passed is True and not self.passed

    def failed_checks(self) -> list[CheckReport]:
        return [check for check in self.checks if not check.passed]


class SuiteReport(_Model):
    name: str
    spec: dict[str, Any] = Field(default_factory=dict)  # SuiteSpec.to_json()
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    passed: int
    total: int
    pass_rate: float
    pass_rate_interval: tuple[float, float]
    metrics: tuple[MetricReport, ...] = ()
    metric_errors: tuple[str, ...] = ()  # metrics that could not be computed, with why
    threshold_failures: tuple[str, ...] = ()  # the suite's own min_pass_rate / min={...}
    comparisons: tuple[Comparison, ...] = ()  # the gate's, stored whole: a report prints the same lines
    not_compared: str | None = None  # why the gate could not compare the suite
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()  # the gate's: each one failed the run
    cases: tuple[CaseReport, ...] = ()
    strict: bool = False  # --llmeval-strict: every failed case failed the run

    def flipped_ids(self) -> set[str]:
        """Cases that went pass -> fail: per the gate's comparisons, or per the stored baseline
        when the report carries it (the gate leaves flaky cases out, the baseline may not)."""
        from_gate = {i for c in self.comparisons if c.kind == "pass" for i in c.flips_to_fail}
        return from_gate | {case.id for case in self.cases if case.flipped}

    def problems(self) -> list[str]:
        """Why this suite makes the run fail; empty when it does not."""
        # A critical case that flipped is already among the gate's failures.
        flipped = {i for c in self.comparisons for i in c.critical_flips}
        critical = [c.id for c in self.cases if c.critical and not c.passed and c.id not in flipped]
        errors = [c.id for c in self.cases if c.error]
        problems = [*self.failures, *self.threshold_failures, *self.metric_errors]
        if critical:
            problems.append(f"{len(critical)} critical case(s) failed: {_ids(critical)}")
        failed = [c.id for c in self.cases if self.strict and not c.passed and not c.error and not c.critical]
        if failed:
            problems.append(f"{len(failed)} case(s) failed (--llmeval-strict): {_ids(failed)}")
        if errors:
            problems.append(f"{len(errors)} case(s) raised an error: {_ids(errors)}")
        return problems

    @property
    def verdict(self) -> Verdict:
        decisions = {c.decision for c in self.comparisons}
        if Decision.REGRESSED in decisions or any(c.critical_flips for c in self.comparisons):
            return "REGRESSED"  # as the live gate says it (SuiteGate.verdict)
        if self.problems():  # errors and missed bounds fail a suite, compared or not
            return "FAILED"
        if self.not_compared is not None:
            return "NOT COMPARED"
        if Decision.WARNING in decisions or self.warnings:
            return "WARNING"
        if Decision.IMPROVED in decisions:
            return "IMPROVED"
        return "OK"

    def main_comparison(self) -> Comparison | None:
        """The pass/fail comparison of the suite's cases, the one its summary line shows."""
        return next((c for c in self.comparisons if c.metric == "pass"), None)


class RunReport(_Model):
    schema_version: int = SCHEMA_VERSION
    created: str  # ISO 8601, UTC
    git_commit: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    gated: bool = False  # whether the run was compared with baselines at all
    notes: tuple[str, ...] = ()  # the gate's run-wide notes (stale baselines...)
    suites: tuple[SuiteReport, ...] = ()
    subset: bool = False  # only some cases ran (-k, -m, --lf, node ids, -x)

    @property
    def failed(self) -> bool:
        return any(suite.problems() for suite in self.suites)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def load_report(path: str | os.PathLike[str]) -> RunReport:
    """The report at ``path``; ReportError, naming the file, when it cannot be used."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"report {os.fspath(path)} cannot be read: {exc}") from None
    return parse_report(text, source=f"report {os.fspath(path)}")


def parse_report(text: str, *, source: str = "report") -> RunReport:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ReportError(f"{source} is malformed: expected a JSON object, got {type(data).__name__}")
    return validated(data, RunReport, place=source, newest=SCHEMA_VERSION, error=ReportError)


def _ids(ids: list[str], shown: int = 5) -> str:
    more = f" (+{len(ids) - shown} more)" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more
