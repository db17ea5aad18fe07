"""The regression gate over a run: read each suite's baseline, compare, record, and say why a run fails.

Plain library code (the plugin only prints what it returns and sets the exit status). How two
sets of cases compare is :mod:`.compare`'s (the statistics are in :mod:`.stats`); this module
decides what each suite is compared with, when baselines may be written, and what a user is told.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..gate_defaults import DEFAULT_ALPHA, DEFAULT_MARGIN
from ..suite import CaseRecord, SuiteResult
from .compare import CaseView, SuiteComparison, compare_cases
from .schema import Baseline, CaseEntry, Fingerprint, MetricEntry
from .stats import Comparison, Decision, gate
from .store import BaselineError, baseline_path, colliding_suites, locked, read_baseline, write_baseline

Update = Literal["all", "new"] | None
Verdict = Literal["REGRESSED", "NOT COMPARED", "WARNING", "OK"]
_RECORD_HINT = "record a baseline on purpose with --llmeval-update-baselines and commit it"
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
    alpha: float = DEFAULT_ALPHA
    margin: float = DEFAULT_MARGIN
    update: Update = None
    ci: bool = False  # under CI, baselines are never written unless update is asked for
    # A subset of the cases ran (-k, -m, --lf, node ids, or -x stopped the run): cases that did
    # not run are not "removed", and a partial update keeps them.
    partial: bool = False
    # The run collected every test (no file or node given): a baseline file without a suite in
    # it belongs to no suite any more.
    all_suites: bool = False
    keep_outputs: bool = False


@dataclass
class SuiteGate:
    """What the gate found for one suite."""

    suite: str
    comparisons: list[Comparison] = field(default_factory=list)
    not_compared: str | None = None  # why the suite could not be compared; None when it was
    notes: list[str] = field(default_factory=list)  # for the user's information
    warnings: list[str] = field(default_factory=list)  # worth a look; never fails the run
    failures: list[str] = field(default_factory=list)  # each one fails the run
    written: Path | None = None

    @property
    def verdict(self) -> Verdict:
        decisions = {c.decision for c in self.comparisons}
        if Decision.REGRESSED in decisions or any(c.critical_flips for c in self.comparisons):
            return "REGRESSED"  # a critical case that flipped fails the run whatever the rate did
        if self.not_compared is not None:
            return "NOT COMPARED"
        if Decision.WARNING in decisions or self.warnings or self.failures:
            return "WARNING"
        return "OK"


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
    return _hash_inputs({r.case_id: r.input_hash for r in records})


def _hash_inputs(inputs: Mapping[str, str]) -> str:
    items = sorted(f"{case_id}\t{input_hash}" for case_id, input_hash in inputs.items())
    return hashlib.sha256("\n".join(items).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def record_views(records: Sequence[CaseRecord]) -> dict[str, CaseView]:
    """A run's cases as the comparison sees them; a case that raised did not pass."""
    return {
        r.case_id: CaseView(
            passed=r.passed and not r.error,
            samples=r.sample_passes if len(r.sample_passes) > 1 and not r.error else (),
            scores=r.scores,
            critical=r.critical,
            input_hash=r.input_hash,
        )
        for r in records
    }


def baseline_views(baseline: Baseline) -> dict[str, CaseView]:
    return {
        case_id: CaseView(
            passed=e.passed,
            samples=tuple(e.samples) if e.samples and len(e.samples) > 1 else (),
            scores=e.scores,
            critical=e.critical,
            input_hash=e.input_hash,
        )
        for case_id, e in baseline.cases.items()
    }


def build_baseline(
    result: SuiteResult, fingerprint: Fingerprint, *, keep_outputs: bool, keep_from: Baseline | None = None
) -> Baseline:
    """A baseline from this run's records. ``keep_from`` (a partial run's previous baseline) keeps
    every field of the cases this run did not touch. Its suite metrics are kept when no case
    that ran changed its entry (so rerunning a subset rewrites no byte), and left out otherwise:
    the run's own metrics would describe only the subset that ran."""
    cases: dict[str, CaseEntry] = dict(keep_from.cases) if keep_from is not None else {}
    for record in result.records:
        cases[record.case_id] = _entry(record, keep_outputs)
    metrics: dict[str, MetricEntry] = {}
    if keep_from is None:
        values, _ = result.metrics
        for value in values:
            if value.name not in _UNSTORED_METRICS and math.isfinite(value.value):
                metrics[value.name] = MetricEntry(value=value.value, low=value.low, high=value.high)
    elif all(keep_from.cases.get(i) == cases[i] for i in {r.case_id for r in result.records}):
        metrics = dict(keep_from.metrics)
    hashes = {case_id: entry.input_hash for case_id, entry in cases.items()}
    fingerprint = fingerprint.model_copy(update={"dataset_hash": _hash_inputs(hashes)})
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

    The rules: ``update="all"`` records every suite that ran (the run then passes the gate, and
    what the new file replaces is shown); ``"new"`` records only suites without a baseline; with
    neither, a missing baseline is recorded, except under CI, where it fails the gate with a hint
    instead. A suite that cannot be compared is NOT COMPARED, with why: under CI that fails the
    gate, locally it is a warning. A baseline that cannot be read is reported and never written
    over. A suite with a case that raised an error is never recorded: its record would say
    "failed" for what was a bug.
    """
    suites: list[SuiteGate] = []
    pending: list[tuple[SuiteGate, list[Comparison]]] = []
    clashes = colliding_suites(options.directory, [r.spec.name for r in results])
    clashing = {name for pair in clashes for name in pair}
    for result in results:
        verdict = SuiteGate(result.spec.name)
        suites.append(verdict)
        if result.spec.name in clashing:
            other = next(a if b == result.spec.name else b for a, b in clashes if result.spec.name in (a, b))
            verdict.not_compared = "its baseline file would be another suite's"
            verdict.failures.append(
                f"suites {result.spec.name!r} and {other!r} would share the baseline file "
                f"{baseline_path(options.directory, result.spec.name).name} on a case-insensitive file "
                "system: rename one with @pytest.mark.llmeval(name=...)"
            )
            continue
        path = baseline_path(options.directory, result.spec.name)
        try:
            baseline = read_baseline(path)
        except BaselineError as exc:
            verdict.not_compared = "its baseline cannot be read"
            verdict.failures.append(f"{exc}; it was left untouched: fix or delete it, then rerun")
            continue
        fingerprint = fingerprint_of(infos.get(result.spec.name), result)
        found = None
        if baseline is not None:
            found = compare_cases(
                result.spec.name,
                baseline_views(baseline),
                record_views(result.records),
                alpha=options.alpha,
                margin=options.margin,
                partial=options.partial,
            )
            notes, changed = fingerprint_changes(baseline.fingerprint, fingerprint)
            verdict.notes += notes
            verdict.warnings += changed + list(found.warnings)
        asked = options.update == "all" or (options.update == "new" and baseline is None)
        if found is not None and options.update != "all":
            verdict.not_compared = found.not_compared
            pending.append((verdict, list(found.comparisons)))
        elif baseline is None:
            verdict.not_compared = f"no baseline at {path}"
        else:
            verdict.not_compared = "the baseline was re-recorded on request (--llmeval-update-baselines)"
        # A first baseline from a subset (-k, -x...) would hold only the cases that ran, and later
        # full runs would gate on those alone: only a run of every case records one unasked.
        if asked or (baseline is None and not options.ci and not options.partial):
            _record(verdict, result, fingerprint, path, found, options)
        if asked or verdict.not_compared is None or verdict.failures:
            continue
        if baseline is None and options.partial and not options.ci:
            verdict.warnings.append(
                f"NOT COMPARED: {verdict.not_compared}; none recorded from a subset of the cases: run all"
            )
            continue
        if options.ci:
            verdict.failures.append(f"NOT COMPARED: {verdict.not_compared}; CI is set: {_RECORD_HINT}")
        elif verdict.written is not None:
            verdict.warnings.append(f"NOT COMPARED: {verdict.not_compared}; recorded one: commit it")
        else:
            verdict.warnings.append(f"NOT COMPARED: {verdict.not_compared}")

    _settle_run(pending, partial=options.partial)
    notes = []
    if options.all_suites and not options.partial:
        ran = {baseline_path(options.directory, r.spec.name) for r in results}
        others = sorted(p.name for p in options.directory.glob("*.json") if p not in ran)
        if others:
            notes.append(
                f"baselines with no suite in this run (stale, if the suite is gone): {', '.join(others)}"
            )
    return RunGate(suites, notes)


def _record(
    verdict: SuiteGate,
    result: SuiteResult,
    fingerprint: Fingerprint,
    path: Path,
    found: SuiteComparison | None,
    options: GateOptions,
) -> None:
    """Write the suite's baseline, under the folder's lock: a partial update merges into the file
    as it is now, which another run may have just rewritten."""
    errors = [r.case_id for r in result.records if r.error]
    if errors:
        verdict.warnings.append(
            f"baseline not written: {len(errors)} case(s) raised an error ({', '.join(errors[:5])})"
        )
        return
    try:
        with locked(options.directory):
            current = read_baseline(path)
            keep_from = current if options.partial else None
            baseline = build_baseline(
                result, fingerprint, keep_outputs=options.keep_outputs, keep_from=keep_from
            )
            write_baseline(path, baseline)
    except BaselineError as exc:
        verdict.failures.append(f"{exc}; it was left untouched: fix or delete it, then rerun")
        return
    except OSError as exc:  # a read-only folder, a folder where the file should be...
        verdict.failures.append(f"baseline not written to {path}: {exc.strerror or exc}")
        return
    verdict.written = path
    if current is None:
        verdict.notes.append(f"baseline recorded: {path}")
        return
    main = found.comparisons[0] if found is not None and found.comparisons else None
    flipped = f", {len(main.flips_to_fail)} flipped pass->fail" if main is not None else ""
    verdict.notes.append(
        f"baseline updated: pass {current.pass_rate:.3f} -> {baseline.pass_rate:.3f}{flipped} ({path})"
    )


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
            verdict.not_compared = "no case of it ran on the reference model"
            verdict.failures.append("no case of it ran on the reference model, so it cannot be compared")
            continue
        found = compare_cases(
            result.spec.name,
            record_views(reference.records),
            record_views(result.records),
            alpha=options.alpha,
            margin=options.margin,
            partial=True,
        )
        reference_print = fingerprint_of(reference_infos.get(result.spec.name), reference)
        notes, _ = fingerprint_changes(reference_print, fingerprint_of(infos.get(result.spec.name), result))
        verdict.notes += [n.replace("since the baseline", "from the reference") for n in notes]
        verdict.warnings += found.warnings
        verdict.not_compared = found.not_compared
        if found.not_compared is not None:
            verdict.failures.append(f"NOT COMPARED: {found.not_compared}")
        pending.append((verdict, list(found.comparisons)))
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
