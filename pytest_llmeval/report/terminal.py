"""The plugin's lines on the terminal: the header under pytest's, and the ``llmeval summary``
section at the end of a run. Text only; the plugin writes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..baselines import RunGate
from ..settings import Settings
from ..sides import MODEL
from ..suite import SuiteResult

if TYPE_CHECKING:
    from ..run_records import RunRecords

Styled = tuple[str, dict[str, bool]]  # a line and its markup for TerminalReporter.write_line


def header_lines(settings: Settings) -> list[str]:
    """The model, judge, GPUs and compare mode of the run, under pytest's own header."""
    from ..engine import resolve_backend

    s = settings
    model = s.model or "(none: set --llmeval-model)"
    backend, why = resolve_backend(s)
    lora = f" lora={s.lora}" if s.lora else ""
    lines = [f"llmeval: model={model}{lora} backend={backend} ({why}) dtype={s.dtype} device={s.device}"]
    if (judge := s.for_judge()) is not None:
        lines.append(f"llmeval: judge={judge.model} backend={resolve_backend(judge)[0]}")
    if s.gpus_per_worker:
        lines.append(f"llmeval: each xdist worker gets {s.gpus_per_worker} GPU(s) of its own")
    if s.compare_model is not None:
        lora = f" lora={s.compare_lora}" if s.compare_lora else ""
        lines.append(
            f"llmeval: reference={s.compare_model}{lora}: every suite case also runs on it, and the "
            "gate compares the two instead of reading baselines"
        )
    return lines


def summary(run: RunRecords, *, verbose: bool) -> list[Styled]:
    """The ``llmeval summary`` section: a line per suite, the gate's lines, what was published,
    and why the run fails. ``verbose`` (-v) names every flipped case with its reason."""
    lines: list[Styled] = [(line, {}) for line in summary_lines(run.results(), run.gate, subset=run.partial)]
    if run.gate is not None:
        reasons = {(r.suite, r.case_id): r.reason() for r in run.records if r.side == MODEL}
        lines += gate_lines(run.gate, reasons if verbose else None)
    elif run.interrupted:
        lines.append(("llmeval: interrupted: no baseline compared or written", {}))
    lines += [(line, {}) for line in run.published]
    if run.partial:
        lines += [(f"llmeval: {problem} (subset, not enforced)", {}) for problem in run.threshold_failures()]
    failures = run.failures()
    if failures:
        lines.append((f"llmeval: run FAILED: {failures[0]}", {"red": True, "bold": True}))
        lines += [(f"llmeval: also: {extra}", {"red": True}) for extra in failures[1:]]
    return lines


def summary_lines(
    results: Sequence[SuiteResult], gate: RunGate | None = None, *, subset: bool = False
) -> list[str]:
    width = max(len(r.spec.name) for r in results)
    failing = {s.suite for s in gate.suites if s.failures} if gate is not None else set()
    lines = []
    for result in results:
        low, high = result.pass_rate_interval()
        xfailed = sum(not r.passed and not r.error for r in result.records)
        errors = sum(r.error for r in result.records)
        problems = []
        critical = sum(r.critical and not r.passed and not r.error for r in result.records)
        if errors:  # a suite whose cases could not run is never "ok", whatever else holds
            problems.append(f"{errors} case(s) raised an error")
        if critical:  # each one failed its test, so the run
            problems.append(f"{critical} critical case(s) failed")
        if result.threshold_failures():
            problems.append("below threshold (subset, not enforced)" if subset else "below threshold")
        if result.spec.name in failing:
            problems.append("FAILED the gate")
        verdict = ", ".join(problems) or "ok"
        bound = f" (min {result.spec.min_pass_rate})" if result.spec.min_pass_rate is not None else ""
        metrics = "".join(f"  {v.text()}" for v in result.metrics[0])
        lines.append(
            f"{result.spec.name:<{width}}  {len(result.records)} cases  pass {result.pass_rate:.3f} "
            f"[{low:.3f}, {high:.3f}]{metrics}  failed checks {xfailed}  errors {errors}  {verdict}{bound}"
        )
    return lines


def gate_lines(run: RunGate, reasons: Mapping[tuple[str, str], str] | None = None) -> list[Styled]:
    """The gate's part of the summary: one line per compared metric (metric, old -> new, the change
    with its interval, p, the decision), what the suite could have detected, the flips, and the
    notes and warnings. With ``reasons`` (-v), every flipped case gets a line with why it fails
    now; without, the first ten are named."""
    lines: list[Styled] = []
    for suite in run.suites:
        for comparison in suite.comparisons:
            style = (
                {"red": True}
                if comparison.fails_run
                else {"yellow": True}
                if comparison.decision.value == "WARNING"
                else {}
            )
            lines.append((comparison.summary_line(), style))
            lines.append(("  " + comparison.detail_line().split("  ", 1)[1], {}))
            flips = comparison.flips_to_fail
            if flips and reasons is not None:
                lines.append((f"  flipped pass->fail ({len(flips)}):", {}))
                lines += [(f"    {case}: {reasons.get((suite.suite, case), '')}", {}) for case in flips]
            elif flips:
                more = len(flips) - 10
                shown = ", ".join(flips[:10]) + (f" (+{more} more; -v lists all)" if more > 0 else "")
                lines.append((f"  flipped pass->fail: {shown}", {}))
        if suite.not_compared is not None and not any(
            line.startswith("NOT COMPARED") for line in (*suite.failures, *suite.warnings)
        ):
            lines.append((f"{suite.suite}  NOT COMPARED: {suite.not_compared}", {}))
        lines += [(f"{suite.suite}  note: {note}", {}) for note in suite.notes]
        lines += [(f"{suite.suite}  warning: {warning}", {"yellow": True}) for warning in suite.warnings]
    lines += [(f"llmeval: {note}", {}) for note in run.notes]
    return lines
