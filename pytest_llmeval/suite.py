"""Eval suites without pytest: the marker's settings, the case being run, and per-case records.

An eval suite is a test marked ``@pytest.mark.llmeval(...)`` and parametrized over ``Case``
objects. Its checks are recorded, not raised; each case becomes a ``CaseRecord``; the suite's
pass rate and thresholds decide whether it holds.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from .cases import Case
from .checks.evidence import shorten
from .checks.result import CheckResult
from .engine.types import EngineError, GenerationRequest, GenerationSpec, LoglikelihoodRequest
from .metrics import (
    KNOWN,
    PER_CASE_TEXT,
    PERPLEXITY,
    CaseScores,
    MetricError,
    MetricValue,
    case_metric_values,
    compute,
    wilson_interval,
)

_GENERATION_KEYS = ("max_tokens", "temperature", "top_p", "seed", "stop", "samples")
_SUITE_KEYS = ("name", "min_pass_rate", "min", "metrics")

# What llm.perplexity(case) divides a text's log-likelihood by: counts, not quality. A model with
# another tokenizer has fewer or more tokens for the same text, which is no regression.
COUNT_SCORES = frozenset(("rolling_tokens", "rolling_words", "rolling_bytes"))
# Per-case scores the plugin records itself (multiple choice, rolling loglikelihood); a user's
# own score may not take these names.
BUILTIN_SCORES = frozenset(("acc", "acc_norm", "rolling_logprob")) | COUNT_SCORES
_SCORE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

MC_DELIMITER = " "  # between a multiple-choice prompt and each choice, as lm-evaluation-harness does


class SuiteError(ValueError):
    """A suite marker with settings that cannot work."""


@dataclass(frozen=True)
class SuiteSpec:
    """What ``@pytest.mark.llmeval(...)`` asks for: decoding, thresholds and metrics."""

    name: str
    generation: GenerationSpec = field(default_factory=GenerationSpec)
    min_pass_rate: float | None = None
    min_metrics: tuple[tuple[str, float], ...] = ()
    metrics: tuple[str, ...] = ()

    @classmethod
    def from_marker(cls, default_name: str, kwargs: Mapping[str, Any]) -> SuiteSpec:
        unknown = sorted(set(kwargs) - set(_GENERATION_KEYS) - set(_SUITE_KEYS))
        if unknown:
            known = ", ".join(_GENERATION_KEYS + _SUITE_KEYS)
            raise SuiteError(f"llmeval marker: unknown setting(s) {', '.join(unknown)}; known: {known}")
        generation: dict[str, Any] = {k: kwargs[k] for k in _GENERATION_KEYS if k in kwargs}
        if "samples" in generation:
            generation["n"] = generation.pop("samples")
        if isinstance(generation.get("stop"), str):
            generation["stop"] = (generation["stop"],)
        elif "stop" in generation:
            generation["stop"] = tuple(generation["stop"])
        try:
            spec = GenerationSpec(**generation)
        except (TypeError, ValueError, EngineError) as exc:
            raise SuiteError(f"llmeval marker: {exc}") from None
        min_pass_rate = kwargs.get("min_pass_rate")
        if min_pass_rate is not None and not 0.0 <= float(min_pass_rate) <= 1.0:
            raise SuiteError(f"llmeval marker: min_pass_rate must be in [0, 1], got {min_pass_rate}")
        minimums = kwargs.get("min", {})
        if not isinstance(minimums, Mapping):
            raise SuiteError("llmeval marker: min must be a dict of metric name to minimum value")
        return cls(
            name=str(kwargs.get("name") or default_name),
            generation=spec,
            min_pass_rate=None if min_pass_rate is None else float(min_pass_rate),
            min_metrics=tuple(sorted((str(k), float(v)) for k, v in minimums.items())),
            metrics=tuple(kwargs.get("metrics", ())),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SuiteSpec:
        generation = dict(data["generation"])
        generation["stop"] = tuple(generation["stop"])
        return cls(
            name=data["name"],
            generation=GenerationSpec(**generation),
            min_pass_rate=data["min_pass_rate"],
            min_metrics=tuple((str(k), float(v)) for k, v in data["min_metrics"]),
            metrics=tuple(data["metrics"]),
        )


def generation_request(case: Case, spec: GenerationSpec) -> GenerationRequest:
    if case.messages is not None:
        return GenerationRequest(messages=case.messages, spec=spec)
    return GenerationRequest(prompt=case.prompt, spec=spec)


def wants_perplexity(spec: SuiteSpec) -> bool:
    """A suite scored by rolling loglikelihood (``llm.perplexity(case)``) rather than generation."""
    return any(m in PERPLEXITY for m in (*spec.metrics, *(name for name, _ in spec.min_metrics)))


def case_text(case: Case) -> str:
    """The text ``llm.perplexity(case)`` scores: the case's prompt."""
    if case.prompt is None:
        raise SuiteError(f"case {case.id!r}: perplexity() scores a case's prompt, and this case has none")
    return case.prompt


def choice_requests(case: Case) -> list[LoglikelihoodRequest]:
    """The loglikelihood requests that score a multiple-choice case, one per choice."""
    if case.choices is None or case.prompt is None:
        raise SuiteError(f"case {case.id!r}: choose() needs a prompt and choices")
    if case.continuation is not None:  # partial scoring: the choice goes into the context
        return [LoglikelihoodRequest(case.prompt + c, MC_DELIMITER + case.continuation) for c in case.choices]
    return [LoglikelihoodRequest(case.prompt, MC_DELIMITER + c) for c in case.choices]


# ----- the case being run -----


@dataclass
class ActiveCase:
    """The suite case whose test is running now: where ``expect`` records and ``complete`` reads."""

    suite: SuiteSpec
    case: Case
    checks: list[CheckResult] = field(default_factory=list)
    output: str | None = None
    scores: dict[str, float] = field(default_factory=dict)  # per-case metric inputs, e.g. acc
    samples: tuple[str, ...] = ()  # every sample of llm.complete(case) when samples=K > 1
    sample_passes: list[bool] = field(default_factory=list)  # each sample passed every check so far
    over_samples: list[CheckResult] = field(default_factory=list)  # checks judged sample by sample
    timing: dict[str, float] = field(default_factory=dict)  # latency_s, engine_s, completion_tokens
    side: str = "model"  # "reference": this item runs the case on --llmeval-compare-model

    def set_samples(self, samples: Sequence[str]) -> None:
        self.samples = tuple(samples)
        self.sample_passes = [True] * len(samples)

    def record_samples(self, passes: Sequence[bool], overall: CheckResult) -> None:
        """One check's verdict on each sample, and the one result it records for the case; a
        sample passes when it passes every check."""
        if len(passes) == len(self.sample_passes):
            self.sample_passes = [a and b for a, b in zip(self.sample_passes, passes, strict=True)]
            self.over_samples.append(overall)

    def judged_by_sample(self, result: CheckResult) -> bool:
        return any(result is overall for overall in self.over_samples)


_active: ContextVar[ActiveCase | None] = ContextVar("llmeval_active_case", default=None)


def active_case() -> ActiveCase | None:
    return _active.get()


@contextmanager
def running(active: ActiveCase) -> Iterator[ActiveCase]:
    token = _active.set(active)
    try:
        yield active
    finally:
        _active.reset(token)


def record_answer(
    case: Case,
    *,
    output: str | None = None,
    samples: Sequence[str] = (),
    timing: Mapping[str, float] | None = None,
    scores: Mapping[str, float] | None = None,
) -> bool:
    """Give the running suite case the model's answer to it: the one way the ``llm`` fixture's
    methods (``complete``, ``choose``, ``perplexity``) record into a case.

    Records only when ``case`` is the case being run (a test may also ask about other cases,
    say as few-shot examples: those answers are not this case's) and returns whether it did.
    ``output`` is what text metrics score; ``samples`` every sample when there are several;
    ``timing`` the engine time behind the answer; ``scores`` the plugin's own per-case metric
    inputs (``acc``, ``rolling_logprob``...).
    """
    active = active_case()
    if active is None or active.case.id != case.id:
        return False
    for name, value in (scores or {}).items():
        if not math.isfinite(value):  # a mean, a baseline and a paired test all break on it
            raise SuiteError(
                f"case {case.id!r}: the engine gave a non-finite {name} ({value}), so it cannot be scored"
            )
    if output is not None:
        active.output = output
    if len(samples) > 1:
        active.set_samples(samples)
    if timing is not None:
        active.timing = dict(timing)
    if scores:
        active.scores.update(scores)
    return True


def record_score(name: str, value: float) -> None:
    """Give the running eval-suite case a score of your own: a custom metric, higher is better.

    The suite reports the mean over the cases that recorded it as metric ``name``, with a
    bootstrap interval; ``min={name: bound}`` in the marker holds it to a bound; the baseline
    keeps it per case, and the gate compares it case by case (McNemar when every score is 0 or
    1, a sign-flip test otherwise), like any other metric.
    """
    active = active_case()
    if active is None:
        raise SuiteError(
            "record_score() needs a running eval-suite case (a test marked @pytest.mark.llmeval "
            "and parametrized over Case objects)"
        )
    if not isinstance(name, str) or not _SCORE_NAME.fullmatch(name):
        raise SuiteError(f"record_score: a score name is letters, digits and '_', got {name!r}")
    if name in BUILTIN_SCORES or name in KNOWN:
        raise SuiteError(f"record_score: {name!r} is a built-in metric; give your score another name")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SuiteError(f"record_score: {name} must be a finite number, got {value!r}")
    active.scores[name] = float(value)


# ----- records and suite results -----


@dataclass(frozen=True)
class CaseRecord:
    """One case's result, small and JSON-able: xdist workers send it to the controller."""

    suite: str
    case_id: str
    passed: bool
    critical: bool
    error: bool  # the test raised something that is not a check failure
    checks: tuple[tuple[str, bool, str, tuple[str, ...]], ...]  # (name, passed, reason, evidence)
    output: str | None
    tags: tuple[str, ...]
    duration: float
    expected: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    samples: tuple[str, ...] = ()
    sample_passes: tuple[bool, ...] = ()
    timing: dict[str, float] = field(default_factory=dict)
    prompt: str | None = None  # as reports show it (Case.display_prompt)
    input_hash: str = ""  # Case.input_hash: tells a baseline that the case now asks something else
    side: str = "model"  # "reference" for the --llmeval-compare-model run of the same case

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseRecord:
        values = dict(data)
        values["checks"] = tuple((n, p, r, tuple(e)) for n, p, r, e in values["checks"])
        values["tags"] = tuple(values["tags"])
        values["samples"] = tuple(values.get("samples", ()))
        values["sample_passes"] = tuple(values.get("sample_passes", ()))
        return cls(**values)

    def failed_checks(self) -> list[str]:
        return [f"{name}: {reason}" for name, passed, reason, _ in self.checks if not passed]

    def reason(self) -> str:
        """Why the case failed, on one line (empty when it passed)."""
        return shorten("; ".join(self.failed_checks()), 160)

    def outcome(self) -> bool | tuple[bool, ...]:
        """What the regression gate pairs: pass/fail, or each sample's pass/fail with samples=K."""
        if self.error:
            return False  # a case that crashed did not pass, whatever its samples said
        return self.sample_passes if len(self.sample_passes) > 1 else self.passed


@dataclass(frozen=True)
class SuiteResult:
    spec: SuiteSpec
    records: tuple[CaseRecord, ...]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.records)

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.records) if self.records else 0.0

    def pass_rate_interval(self) -> tuple[float, float]:
        return wilson_interval(self.passed, len(self.records))

    def metric_names(self) -> list[str]:
        """The marker's metrics and those its thresholds name, plus what the records make
        possible: acc and acc_norm for multiple choice, pass@1 and pass@K for samples=K, and
        latency and tokens/s when the engine computed answers in this run."""
        names = list(self.spec.metrics) + [name for name, _ in self.spec.min_metrics]
        if any("acc" in r.scores for r in self.records):
            names = ["acc", "acc_norm", *names]
        if self.spec.generation.n > 1 and any(r.sample_passes for r in self.records):
            names = ["pass@1", f"pass@{self.spec.generation.n}", *names]
        own = {k for r in self.records for k in r.scores} - BUILTIN_SCORES - set(PER_CASE_TEXT)
        names += sorted(own)  # record_score
        if any(r.timing for r in self.records):
            names += ["latency", "tokens_per_s"]
        return list(dict.fromkeys(n for n in names if n not in ("pass_rate", "accuracy")))

    @cached_property  # bootstrap intervals cost time: the summary and the gate share one computation
    def metrics(self) -> tuple[list[MetricValue], list[str]]:
        """Each metric with its interval, and the metrics that could not be computed (with why)."""
        cases = [
            CaseScores(r.passed, r.output, r.expected, r.scores, r.samples, r.sample_passes, r.timing)
            for r in self.records
        ]
        values, problems = [], []
        for name in self.metric_names():
            try:
                values.append(compute(name, cases))
            except MetricError as exc:
                problems.append(f"metric {name}: {exc}")
        return values, problems

    def threshold_failures(self) -> list[str]:
        """Why the suite misses its own thresholds; empty when it meets them."""
        problems = []
        if self.spec.min_pass_rate is not None and self.pass_rate < self.spec.min_pass_rate:
            problems.append(
                f"pass rate {self.pass_rate:.3f} is below min_pass_rate {self.spec.min_pass_rate}"
            )
        values, errors = self.metrics
        by_name = {v.name: v for v in values}
        for name, minimum in self.spec.min_metrics:
            if name in ("pass_rate", "accuracy"):
                value = self.pass_rate
            elif name in by_name:
                value = by_name[name].value
            else:
                continue  # reported among the errors below
            if value < minimum:
                problems.append(f"{name} {value:.3f} is below its minimum {minimum}")
        return problems + errors


def group_records(specs: Mapping[str, SuiteSpec], records: Sequence[CaseRecord]) -> list[SuiteResult]:
    by_suite: dict[str, list[CaseRecord]] = {name: [] for name in specs}
    for record in records:
        by_suite.setdefault(record.suite, []).append(record)
    return [
        SuiteResult(specs.get(name, SuiteSpec(name)), tuple(sorted(rs, key=lambda r: r.case_id)))
        for name, rs in sorted(by_suite.items())
        if rs
    ]


# ----- a case's outcome -----


@dataclass(frozen=True)
class Verdict:
    """How pytest should show a finished case: passed, an expected failure (x), or failed."""

    outcome: str  # "passed", "xfailed" or "failed"
    reason: str


def decide(
    active: ActiveCase, error: BaseException | None, *, strict: bool, duration: float
) -> tuple[CaseRecord, Verdict]:
    """A case's outcome: failed checks make it x (an expected failure), or a failure when the case
    is critical or the run is strict; an exception that is not a check failure is always a real
    failure."""
    checks = list(active.checks)
    is_error = error is not None and not isinstance(error, AssertionError)
    if isinstance(error, AssertionError):  # a plain assert in a suite is one more check
        message = str(error).strip().splitlines()[0] if str(error).strip() else "assertion failed"
        checks.append(CheckResult.of("assert", False, message))
    sample_passes = tuple(active.sample_passes)
    if is_error or any(not c.passed and not active.judged_by_sample(c) for c in checks):
        # A plain assert, a check of something other than the samples, or an error fails the
        # case as a whole, so no sample passed: pass@k and the sampled gate must see it.
        sample_passes = (False,) * len(sample_passes)
    if active.samples and not is_error:
        # With samples=K the case passes when a majority of its samples pass every check.
        good = sum(active.sample_passes)
        if not good * 2 > len(active.sample_passes) and all(c.passed for c in checks):
            reason = f"{good}/{len(active.sample_passes)} samples passed every check; a majority must"
            checks.append(CheckResult.of("samples", False, reason))
    failed = [c for c in checks if not c.passed]
    if is_error:  # kept with the checks, so reports can say what went wrong
        checks.append(CheckResult.of("error", False, f"{type(error).__name__}: {error}"))
    record = CaseRecord(
        suite=active.suite.name,
        case_id=active.case.id,
        passed=not failed and not is_error,
        critical=active.case.critical,
        error=is_error,
        checks=tuple((c.name, c.passed, c.reason, c.evidence) for c in checks),
        output=active.output,
        tags=active.case.tags,
        duration=duration,
        expected=None if active.case.expected is None else str(active.case.expected),
        scores={
            **active.scores,
            **case_metric_values(active.suite.metrics, active.output, active.case.expected),
        },
        samples=active.samples,
        sample_passes=sample_passes,
        timing=dict(active.timing),
        prompt=active.case.display_prompt(),
        input_hash=active.case.input_hash(),
        side=active.side,
    )
    if is_error:
        return record, Verdict("failed", f"{type(error).__name__}: {error}")
    if not failed:
        return record, Verdict("passed", "")
    reason = "; ".join(c.line() for c in failed)
    if active.side != "model":  # the reference model is what the model under test is held to
        return record, Verdict("xfailed", f"reference model: {reason}")
    if active.case.critical:
        return record, Verdict("failed", f"critical case failed: {reason}")
    if strict:
        return record, Verdict("failed", f"failed checks (--llmeval-strict): {reason}")
    return record, Verdict("xfailed", reason)
