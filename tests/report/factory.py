"""A real run to report on: cases decided by ``suite.decide`` with real checks, a baseline
written and read by the store, and the gate's real comparisons.

The "support" suite regresses against its baseline (eight filler cases flip pass -> fail, a
critical case flips, one case now raises); one case's output is an XSS payload. The "math"
suite has no baseline yet, so the gate records one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_llmeval.baselines.gate import (
    GateOptions,
    RunGate,
    build_baseline,
    fingerprint_of,
    run_gate,
)
from pytest_llmeval.baselines.schema import Baseline
from pytest_llmeval.baselines.store import baseline_path, read_baseline, write_baseline
from pytest_llmeval.cases import Case
from pytest_llmeval.checks import CheckResult, contains, equals, not_contains
from pytest_llmeval.report import RunReport, build_report
from pytest_llmeval.suite import ActiveCase, CaseRecord, SuiteResult, SuiteSpec, decide

CREATED = "2025-01-02T03:04:05+00:00"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

XSS_OUTPUT = (
    "Sure! <script>alert(1)</script> and <img src=x onerror=alert(1)>\n"
    "<script>window.__pwned = 1; document.title = 'pwned'</script>"
    "<img src=x onerror=\"window.__pwned = 2; document.title = 'pwned'\">"
    "</pre></details></div><b>bold?</b> &amp; done"
)
XSS_ID = "xss-<b>id</b>"

SUPPORT = SuiteSpec(name="support_answers", min_pass_rate=0.5)
MATH = SuiteSpec(name="math_exact", metrics=("exact_match",))


def record(
    spec: SuiteSpec,
    case: Case,
    output: str,
    checks: Sequence[CheckResult],
    *,
    error: BaseException | None = None,
) -> CaseRecord:
    active = ActiveCase(suite=spec, case=case, checks=list(checks), output=output)
    result, _ = decide(active, error, strict=False, duration=0.25)
    return result


def _support(before: bool) -> SuiteResult:
    """The support suite as the baseline saw it (``before``) or as this run does."""
    records = []
    for n in range(30):
        case = Case(id=f"faq-{n:02d}", prompt=f"FAQ question {n}?", tags=("faq",))
        # Eight answers lost the key fact since the baseline; the rest still give it.
        output = f"Answer {n}: see the help page." if not before and n < 8 else f"Answer {n}: open Settings."
        records.append(record(SUPPORT, case, output, [contains(output, "Settings")]))
    capital = Case(id="capital-de", prompt="Capital of Germany?", tags=("geo", "europe"))
    output = "Berlin." if before else "The capital was Bonn,\nthen Berlin.\nBonn is nice."
    records.append(record(SUPPORT, capital, output, [not_contains(output, "Bonn")]))
    refund = Case(id="refund-policy", prompt="Can I get a refund?", tags=("policy",), critical=True)
    output = "Yes, within 30 days." if before else "No refunds, ever."
    records.append(record(SUPPORT, refund, output, [contains(output, "30 days")]))
    improved = Case(id="greeting", prompt="Say hello.", tags=("smalltalk",))
    output = "Go away." if before else "Hello!"
    records.append(record(SUPPORT, improved, output, [contains(output, "Hello")]))
    xss = Case(id=XSS_ID, prompt="Print </script><script>alert(1)</script>", tags=("x&y", "security"))
    output = "I cannot do that." if before else XSS_OUTPUT
    records.append(record(SUPPORT, xss, output, [not_contains(output, "<script>", "onerror")]))
    crash = Case(id="server-down", prompt="Anything?", tags=("faq",))
    error = None if before else RuntimeError("connection refused")
    records.append(record(SUPPORT, crash, "Fine.", [], error=error))
    return SuiteResult(SUPPORT, tuple(sorted(records, key=lambda r: r.case_id)))


def _math() -> SuiteResult:
    records = []
    for n, (expected, output) in enumerate([("4", "4"), ("9", "9"), ("12", "13"), ("7", "7")]):
        case = Case(id=f"sum-{n}", prompt=f"Sum number {n}?", expected=expected, tags=("arithmetic",))
        records.append(record(MATH, case, output, [equals(output, expected)]))
    return SuiteResult(MATH, tuple(records))


@dataclass(frozen=True)
class Run:
    results: list[SuiteResult]
    gate: RunGate
    baselines: dict[str, Baseline]
    report: RunReport


def make_run(directory: Path) -> Run:
    """Record the support baseline (with outputs), then run the gate on the current suites."""
    store = directory / "baselines"
    before = _support(before=True)
    path = baseline_path(store, SUPPORT.name)
    write_baseline(path, build_baseline(before, fingerprint_of(None, before), keep_outputs=True))
    stored = read_baseline(path)
    assert stored is not None
    baselines = {SUPPORT.name: stored}  # read before the gate, which may rewrite baselines
    results = [_support(before=False), _math()]
    infos = {SUPPORT.name: {"model": "tiny-model", "backend": "transformers", "dtype": "float32"}}
    gate = run_gate(results, infos, GateOptions(directory=store))
    report = build_report(
        results,
        gate,
        {"model": "tiny-model", "baselines": store, "alpha": 0.05, "strict": False},
        baselines=baselines,
        git_commit=COMMIT,
        created=CREATED,
        infos=infos,
    )
    return Run(results, gate, baselines, report)
