"""From a run's records and gate to a :class:`RunReport`: the one place that reads run objects.

The renderers only see the report, so this module decides what a report holds: each suite's
numbers, the gate's verdicts, and every case with what its baseline said about it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import subprocess
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..baselines.gate import RunGate, SuiteGate, fingerprint_of
from ..baselines.schema import Baseline, CaseEntry
from ..checks.evidence import LONE_SURROGATE
from ..suite import CaseRecord, SuiteResult
from .model import CaseReport, CheckReport, MetricReport, RunReport, SuiteReport

REPORT_TEXT_CHARS = 20_000  # per text: an answer, a prompt, a sample, a reason


def build_report(
    results: Sequence[SuiteResult],
    gate: RunGate | None,
    settings: Mapping[str, object],
    *,
    baselines: Mapping[str, Baseline] | None = None,
    git_commit: str | None = None,
    created: str | None = None,
    infos: Mapping[str, Mapping[str, Any] | None] | None = None,
    subset: bool = False,
) -> RunReport:
    """The report of a run.

    ``baselines`` are the baselines the run was compared with, read *before* the gate may
    rewrite them; they give each case its baseline pass/fail and, when stored, its output.
    ``infos`` are the engine infos per suite (as the gate gets them), for the fingerprints.
    ``subset``: only some cases ran (-k, --lf...), so, as in the run, a suite's own bounds are
    reported as warnings, not enforced.
    """
    gates = {suite.suite: suite for suite in gate.suites} if gate is not None else {}
    baselines = baselines or {}
    infos = infos or {}
    suites = tuple(
        _suite(
            result,
            gates.get(result.spec.name),
            baselines.get(result.spec.name),
            infos.get(result.spec.name),
            subset,
            settings.get("strict") is True,
        )
        for result in results
    )
    return RunReport(
        created=created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        git_commit=git_commit,
        settings=_plain_mapping(settings),
        gated=gate is not None,
        notes=tuple(gate.notes) if gate is not None else (),
        suites=suites,
        subset=subset,
    )


def git_commit(path: str | os.PathLike[str]) -> str | None:
    """The commit checked out at ``path`` (a file or a folder), or None outside a git repo or
    without git: a report is still worth writing when the commit is unknown."""
    where = Path(path)
    if not where.is_dir():
        where = where.parent
    try:
        run = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = run.stdout.strip()
    # A repo without commits prints "HEAD" back on some git versions; only a hash is a commit.
    if run.returncode != 0 or not commit or any(c not in "0123456789abcdef" for c in commit):
        return None
    return commit


def _suite(
    result: SuiteResult,
    gate: SuiteGate | None,
    baseline: Baseline | None,
    info: Mapping[str, Any] | None,
    subset: bool,
    strict: bool,
) -> SuiteReport:
    values, errors = result.metrics
    low, high = result.pass_rate_interval()
    bounds = tuple(p for p in result.threshold_failures() if p not in errors)
    warnings = tuple(gate.warnings) if gate is not None else ()
    if subset:
        warnings += tuple(f"{problem} (subset, not enforced)" for problem in (*bounds, *errors))
        bounds, errors = (), []
    return SuiteReport(
        name=result.spec.name,
        spec=_plain_mapping(result.spec.to_json()),
        fingerprint=fingerprint_of(info, result).model_dump(mode="json"),
        passed=result.passed,
        total=len(result.records),
        pass_rate=result.pass_rate,
        pass_rate_interval=(low, high),
        metrics=tuple(
            MetricReport(name=v.name, value=v.value, low=v.low, high=v.high, n=v.n) for v in values
        ),
        metric_errors=tuple(errors),
        threshold_failures=bounds,
        comparisons=tuple(gate.comparisons) if gate is not None else (),
        not_compared=gate.not_compared if gate is not None else None,
        notes=tuple(gate.notes) if gate is not None else (),
        warnings=warnings,
        failures=tuple(gate.failures) if gate is not None else (),
        cases=tuple(_case(record, _paired_entry(record, baseline)) for record in result.records),
        strict=strict,
    )


def _paired_entry(record: CaseRecord, baseline: Baseline | None) -> CaseEntry | None:
    """The baseline's entry for this case, unless the case now asks something else: the gate
    does not pair such a case, so the report does not call it flipped either."""
    entry = baseline.cases.get(record.case_id) if baseline is not None else None
    if entry is None or (entry.input_hash and record.input_hash and entry.input_hash != record.input_hash):
        return None
    return entry


def _case(record: CaseRecord, entry: CaseEntry | None) -> CaseReport:
    return CaseReport(
        id=_text(record.case_id),
        prompt=_maybe_text(record.prompt),
        output=_maybe_text(record.output),
        expected=_maybe_text(record.expected),
        samples=tuple(_text(s) for s in record.samples),
        sample_passes=record.sample_passes,
        passed=record.passed,
        critical=record.critical,
        error=record.error,
        tags=tuple(_text(t) for t in record.tags),
        checks=tuple(
            CheckReport(
                name=_text(name), passed=passed, reason=_text(reason), evidence=tuple(map(_text, evidence))
            )
            for name, passed, reason, evidence in record.checks
        ),
        scores=dict(record.scores),
        timing=dict(record.timing),
        duration=record.duration,
        baseline_passed=None if entry is None else entry.passed,
        baseline_output=None if entry is None else _maybe_text(entry.output),
        input_hash=record.input_hash,
    )


def _text(text: str) -> str:
    """A text as reports hold it: at most REPORT_TEXT_CHARS, with a note where it was cut (200
    cases of 256 KB answers would make a 50 MB page), and lone surrogates, which records keep
    (``not_garbled`` must see them), as U+FFFD: UTF-8, so JSON and HTML, cannot hold them, and a
    report must never fail to be written."""
    if len(text) > REPORT_TEXT_CHARS:
        text = f"{text[:REPORT_TEXT_CHARS]}\n[... cut by the report: {len(text):,} characters in all]"
    return LONE_SURROGATE.sub("\ufffd", text)


def _maybe_text(text: str | None) -> str | None:
    return None if text is None else _text(text)


def _plain_mapping(values: Mapping[Any, object]) -> dict[str, Any]:
    return {str(key): _plain(value) for key, value in values.items()}


def _plain(value: object) -> Any:
    """``value`` as JSON types: settings hold paths, tuples, enums and frozen dataclasses, and a
    report must be writable whatever a settings object grows next (unknown types become text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return _plain_mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_plain(item) for item in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain_mapping({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)
