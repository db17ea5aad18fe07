"""The regression gate over a run: read each suite's baseline, compare, record, and say why a run fails.

Plain library code (the plugin only prints what it returns and sets the exit status). The
statistics are in :mod:`pytest_llmeval.regression`; this module decides what is compared with
what, when baselines may be written, and what a user is told.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..regression import Comparison, Decision, compare_pass_fail, compare_scores, gate
from ..suite import CaseRecord, SuiteResult
from .schema import Baseline, CaseEntry, Fingerprint, MetricEntry
from .store import BaselineError, baseline_path, read_baseline, write_baseline

Update = Literal["all", "new"] | None
# Timings depend on the machine and on what the cache answered, not on the model: a baseline
# that stored them would change on every run.
_UNSTORED_METRICS = ("latency", "tokens_per_s")
# Fingerprint fields whose change is the point of a comparison (a new checkpoint or adapter)...
_MODEL_FIELDS = ("model", "weights_hash", "lora", "backend", "dtype")
# ...and those whose change means the suite itself changed under the baseline.
_SUITE_FIELDS = ("generation",)


@dataclass(frozen=True)
class GateOptions:
    directory: Path
    alpha: float = 0.05
    margin: float = 0.02
    update: Update = None
    ci: bool = False  # under CI, baselines are never written unless update is asked for
    partial: bool = False  # -k, -m, --lf or node ids chose a subset of the cases
    keep_outputs: bool = False


@dataclass
class SuiteGate:
    """What the gate found for one suite."""

    suite: str
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the user's information
    warnings: list[str] = field(default_factory=list)  # worth a look; never fails the run
    failures: list[str] = field(default_factory=list)  # each one fails the run
    written: Path | None = None


@dataclass
class RunGate:
    suites: list[SuiteGate]
    notes: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        return [f"suite {s.suite}: {f}" for s in self.suites for f in s.failures]


def fingerprint_of(info: Mapping[str, Any] | None, result: SuiteResult) -> Fingerprint:
    """The suite's fingerprint from the engine info the run used (None: no model was loaded)."""
    info = info or {}
    generation = json.loads(json.dumps(result.spec.to_json()["generation"]))  # as a file holds it
    return Fingerprint(
        model=info.get("model"),
        weights_hash=info.get("weights_hash"),
        lora=info.get("lora"),
        backend=info.get("backend"),
        dtype=info.get("dtype"),
        generation=generation,
        dataset_hash=dataset_hash(result.records),
    )


def dataset_hash(records: Sequence[CaseRecord]) -> str:
    items = sorted(f"{r.case_id}\t{r.input_hash}" for r in records)
    return hashlib.sha256("\n".join(items).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def build_baseline(
    result: SuiteResult, fingerprint: Fingerprint, *, keep_outputs: bool, keep_from: Baseline | None = None
) -> Baseline:
    """A baseline from this run's records. ``keep_from`` (a partial run's previous baseline) keeps
    the cases this run did not touch; suite metrics are then left out, since they would describe
    only the subset that ran."""
    cases: dict[str, CaseEntry] = dict(keep_from.cases) if keep_from is not None else {}
    for record in result.records:
        cases[record.case_id] = _entry(record, keep_outputs)
    metrics: dict[str, MetricEntry] = {}
    if keep_from is None:
        values, _ = result.metrics
        for value in values:
            if value.name not in _UNSTORED_METRICS and math.isfinite(value.value):
                metrics[value.name] = MetricEntry(value=value.value, low=value.low, high=value.high)
    if keep_from is not None:
        fingerprint = fingerprint.model_copy(update={"dataset_hash": ""})  # no longer one run's data
    return Baseline(
        suite=result.spec.name,
        fingerprint=fingerprint,
        pass_rate=sum(c.passed for c in cases.values()) / len(cases) if cases else 0.0,
        metrics=metrics,
        cases=dict(sorted(cases.items())),
    )


def _entry(record: CaseRecord, keep_outputs: bool) -> CaseEntry:
    output = record.output
    return CaseEntry(
        passed=record.passed,
        samples=list(record.sample_passes) if len(record.sample_passes) > 1 else None,
        scores=dict(sorted(record.scores.items())),
        critical=record.critical,
        input_hash=record.input_hash,
        output_hash=None
        if output is None
        else hashlib.sha256(output.encode("utf-8", "surrogatepass")).hexdigest()[:16],
        output=output if keep_outputs else None,
    )


def compare_suite(
    result: SuiteResult, baseline: Baseline, *, alpha: float, margin: float, partial: bool
) -> tuple[list[Comparison], list[str]]:
    """Compare one suite's records with its baseline, case by case; returns the comparisons (not
    yet Holm-adjusted across the run) and warnings. Cases whose input changed are not paired."""
    current = {r.case_id: r for r in result.records}
    changed = sorted(
        i for i, r in current.items() if i in baseline.cases and r.input_hash != baseline.cases[i].input_hash
    )
    warnings = []
    if changed:
        shown = ", ".join(changed[:5]) + (f" (+{len(changed) - 5} more)" if len(changed) > 5 else "")
        warnings.append(
            f"{len(changed)} case(s) ask something else than in the baseline, so they are not compared "
            f"(dataset or prompt template changed): {shown}"
        )
    paired = {i: e for i, e in baseline.cases.items() if i not in changed}
    ran = {i: r for i, r in current.items() if i not in changed}
    if partial:  # cases that were not selected are not "removed"
        paired = {i: e for i, e in paired.items() if i in ran}
    critical = [i for i, r in ran.items() if r.critical] + [i for i, e in paired.items() if e.critical]
    before = {i: (tuple(e.samples) if e.samples else e.passed) for i, e in paired.items()}
    comparisons = [
        compare_pass_fail(
            result.spec.name,
            before,
            {i: r.outcome() for i, r in ran.items()},
            critical=critical,
            alpha=alpha,
            margin=margin,
        )
    ]
    for name in sorted(
        {k for e in paired.values() for k in e.scores} & {k for r in ran.values() for k in r.scores}
    ):
        old = {i: e.scores[name] for i, e in paired.items() if name in e.scores}
        new = {i: r.scores[name] for i, r in ran.items() if name in r.scores}
        if all(v in (0.0, 1.0) for v in [*old.values(), *new.values()]):  # a per-case hit: McNemar
            comparisons.append(
                compare_pass_fail(
                    result.spec.name,
                    {i: v == 1.0 for i, v in old.items()},
                    {i: v == 1.0 for i, v in new.items()},
                    metric=name,
                    alpha=alpha,
                    margin=margin,
                )
            )
        else:
            comparisons.append(
                compare_scores(result.spec.name, old, new, metric=name, alpha=alpha, margin=margin)
            )
    return comparisons, warnings


def fingerprint_changes(old: Fingerprint, new: Fingerprint) -> tuple[list[str], list[str]]:
    """(notes, warnings): model changes are noted, a changed decoding is a warning."""
    notes, warnings = [], []
    same_weights = old.weights_hash is not None and old.weights_hash == new.weights_hash
    for name in _MODEL_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if name == "model" and same_weights:
            continue  # the same weights at another path (another machine's cache) are the same model
        if before != after and after is not None:
            notes.append(f"{name} changed since the baseline: {before} -> {after}")
    for name in _SUITE_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            keys = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
            diff = ", ".join(f"{k} {before.get(k)!r} -> {after.get(k)!r}" for k in keys)
            warnings.append(f"{name} settings changed since the baseline: {diff}")
    return notes, warnings


def run_gate(
    results: Sequence[SuiteResult], infos: Mapping[str, Mapping[str, Any] | None], options: GateOptions
) -> RunGate:
    """Check every suite of a run against its baseline, and write the baselines the rules allow.

    The rules: ``update="all"`` records every suite that ran (the run then passes the gate);
    ``"new"`` records only suites without a baseline; with neither, a missing baseline is
    recorded, except under CI, where it fails the gate with a hint instead. A baseline that
    cannot be read is reported and never written over. A suite with a case that raised an
    error is never recorded: its record would say "failed" for what was a bug.
    """
    suites: list[SuiteGate] = []
    pending: list[tuple[SuiteGate, list[Comparison]]] = []
    for result in results:
        verdict = SuiteGate(result.spec.name)
        suites.append(verdict)
        path = baseline_path(options.directory, result.spec.name)
        fingerprint = fingerprint_of(infos.get(result.spec.name), result)
        try:
            baseline = read_baseline(path)
        except BaselineError as exc:
            verdict.failures.append(f"{exc}; it was left untouched: fix or delete it, then rerun")
            continue
        record = options.update == "all" or (baseline is None and (options.update == "new" or not options.ci))
        if baseline is not None and options.update != "all":
            comparisons, warnings = compare_suite(
                result, baseline, alpha=options.alpha, margin=options.margin, partial=options.partial
            )
            notes, changed = fingerprint_changes(baseline.fingerprint, fingerprint)
            verdict.notes += notes
            verdict.warnings += changed + warnings
            pending.append((verdict, comparisons))
        if not record:
            if baseline is None:
                verdict.failures.append(
                    f"no baseline at {path}; CI is set, so none is written: record one with "
                    "--llmeval-update-baselines=new and commit it"
                )
            continue
        errors = [r.case_id for r in result.records if r.error]
        if errors:
            verdict.warnings.append(
                f"baseline not written: {len(errors)} case(s) raised an error ({', '.join(errors[:5])})"
            )
            continue
        keep_from = baseline if options.partial else None
        write_baseline(
            path, build_baseline(result, fingerprint, keep_outputs=options.keep_outputs, keep_from=keep_from)
        )
        verdict.written = path
        verdict.notes.append(f"baseline {'updated' if baseline is not None else 'recorded'}: {path}")

    _settle_run(pending, partial=options.partial)
    notes = []
    if not options.partial:
        ran = {baseline_path(options.directory, r.spec.name) for r in results}
        others = sorted(p.name for p in options.directory.glob("*.json") if p not in ran)
        if others:
            notes.append(
                f"baselines with no suite in this run (stale, if the suite is gone): {', '.join(others)}"
            )
    return RunGate(suites, notes)


def compare_runs(
    results: Sequence[SuiteResult],
    references: Mapping[str, SuiteResult],
    infos: Mapping[str, Mapping[str, Any] | None],
    reference_infos: Mapping[str, Mapping[str, Any] | None],
    options: GateOptions,
) -> RunGate:
    """The gate for --llmeval-compare-model: each suite against the same suite run on the
    reference model in this session, by the same rule as against a baseline. Nothing is read
    from or written to the baselines folder."""
    suites: list[SuiteGate] = []
    pending: list[tuple[SuiteGate, list[Comparison]]] = []
    for result in results:
        verdict = SuiteGate(result.spec.name)
        suites.append(verdict)
        reference = references.get(result.spec.name)
        if reference is None:
            verdict.failures.append("no case of it ran on the reference model, so it cannot be compared")
            continue
        reference_print = fingerprint_of(reference_infos.get(result.spec.name), reference)
        as_baseline = build_baseline(reference, reference_print, keep_outputs=False)
        comparisons, warnings = compare_suite(
            result, as_baseline, alpha=options.alpha, margin=options.margin, partial=True
        )
        notes, _ = fingerprint_changes(reference_print, fingerprint_of(infos.get(result.spec.name), result))
        verdict.notes += [n.replace("since the baseline", "from the reference") for n in notes]
        verdict.warnings += warnings
        pending.append((verdict, comparisons))
    _settle_run(pending, partial=True)
    return RunGate(suites)


def _settle_run(pending: list[tuple[SuiteGate, list[Comparison]]], *, partial: bool) -> None:
    """Holm across every gated metric of the run, then each suite's verdict."""
    flat = gate([c for _, comparisons in pending for c in comparisons])
    position = 0
    for verdict, comparisons in pending:
        verdict.comparisons = list(flat[position : position + len(comparisons)])
        position += len(comparisons)
        _judge(verdict, partial=partial)


def _judge(verdict: SuiteGate, *, partial: bool) -> None:
    for comparison in verdict.comparisons:
        if comparison.decision is Decision.REGRESSED:
            c = comparison
            verdict.failures.append(
                f"{c.metric} REGRESSED {c.baseline_value:.3f} -> {c.current_value:.3f} "
                f"(p={c.p_adjusted:.4g}, {len(c.flips_to_fail)} flipped pass->fail)"
            )
        elif comparison.decision is Decision.WARNING:
            verdict.warnings.append(
                f"{comparison.metric} dropped {100 * comparison.drop:.1f}pt, past the margin but not "
                f"significant (p={comparison.p_adjusted:.4g}): likely noise; more cases would tell"
            )
        if comparison.critical_flips:
            verdict.failures.append(
                f"critical case(s) flipped pass->fail: {', '.join(comparison.critical_flips)}"
            )
    main = verdict.comparisons[0] if verdict.comparisons else None
    if main is not None and main.removed_ids and not partial:
        verdict.notes.append(
            f"{len(main.removed_ids)} case(s) in the baseline no longer run (stale): "
            + ", ".join(main.removed_ids[:5])
        )
