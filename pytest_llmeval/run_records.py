"""A run's suite records, and what is decided from them at the end: the thresholds, the
regression gate against the baselines (or the reference model), the report and where it goes."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from . import junit
from .baselines import (
    Baseline,
    BaselineError,
    GateOptions,
    RunGate,
    baseline_path,
    build_baseline,
    compare_runs,
    read_baseline,
    run_gate,
)
from .baselines.gate import fingerprint_of
from .report import RunReport, build_report, git_commit
from .report.publish import publish
from .settings import Settings
from .sides import MODEL, REFERENCE
from .suite import CaseRecord, SuiteResult, SuiteSpec, group_records


class RunRecords:
    """Every suite case's record of a run, collected on the process that reports (the xdist
    controller, from the workers' reports), and the run's verdict on them."""

    def __init__(self, settings: Settings, rootpath: Path, *, partial: bool, all_suites: bool) -> None:
        self.settings = settings
        self.partial = partial  # -k, -m, --lf or node ids (or later: -x stopped the run)
        self.all_suites = all_suites  # no test file or node was named: every suite was collected
        # ``rootpath`` is the project folder the plugin's files live under (see plugin.project_folder).
        self.rootpath = rootpath
        self.baselines_dir = settings.baselines or rootpath / "baselines"
        self.history_path = settings.history or rootpath / ".llmeval" / "history.jsonl"
        self.suites: dict[str, SuiteSpec] = {}
        self.records: list[CaseRecord] = []
        self.engine_infos: dict[str, dict[str, object]] = {}  # side:suite -> info of the model that ran it
        self.gate: RunGate | None = None
        self.report: RunReport | None = None
        self.published: list[str] = []
        self.interrupted = False

    def add_record(self, record: CaseRecord, spec: SuiteSpec, info: dict[str, object] | None = None) -> None:
        self.suites.setdefault(spec.name, spec)
        self.records.append(record)
        if info is not None:
            self.engine_infos[f"{record.side}:{spec.name}"] = info

    def collect(self, report: pytest.TestReport) -> None:
        """Keep the record a suite case's report carries (see items.decide_report)."""
        data = getattr(report, "llmeval_record", None)
        if data is not None:
            info = getattr(report, "llmeval_engine", None)
            self.add_record(CaseRecord.from_json(data), SuiteSpec.from_json(report.llmeval_suite), info)

    def results(self, side: str = MODEL) -> list[SuiteResult]:
        return group_records(self.suites, [r for r in self.records if r.side == side])

    def failures(self) -> list[str]:
        """Why the run fails. A suite's own thresholds hold only when all its cases ran: on a
        subset (-k, --lf, -x...) its pass rate says nothing about the suite."""
        thresholds = [] if self.partial else self.threshold_failures()
        return thresholds + (self.gate.failures() if self.gate is not None else [])

    def threshold_failures(self) -> list[str]:
        return [f"suite {r.spec.name}: {p}" for r in self.results() for p in r.threshold_failures()]

    def suite_failures(self) -> dict[str, list[str]]:
        """The failures of the run, by the suite they are about (without the ``suite NAME:``)."""
        failures = self.failures()
        found = {}
        for result in self.results():
            prefix = f"suite {result.spec.name}: "
            found[result.spec.name] = [f.removeprefix(prefix) for f in failures if f.startswith(prefix)]
        return found

    def run_gate(self) -> RunGate:
        """Compare every suite with its baseline and record baselines as the settings allow."""
        s = self.settings
        options = GateOptions(
            directory=self.baselines_dir,
            alpha=s.alpha,
            margin=s.margin / 100,
            update=s.update_baselines,  # type: ignore[arg-type]  # checked by settings
            ci=os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"),
            partial=self.partial,
            all_suites=self.all_suites,
            keep_outputs=s.baseline_outputs,
        )
        if s.compare_model is not None:
            references = {r.spec.name: r for r in self.results(REFERENCE)}
            return compare_runs(
                self.results(), references, self._infos(MODEL), self._infos(REFERENCE), options
            )
        return run_gate(self.results(), self._infos(MODEL), options)

    def _infos(self, side: str) -> dict[str, dict[str, object]]:
        prefix = f"{side}:"
        return {k.removeprefix(prefix): v for k, v in self.engine_infos.items() if k.startswith(prefix)}

    def compared_baselines(self) -> dict[str, Baseline]:
        """What each suite is compared with, read before the gate may rewrite it: the stored
        baselines, or in compare mode the reference model's run of the same suite."""
        if self.settings.compare_model is not None:
            infos = self._infos(REFERENCE)
            return {
                r.spec.name: build_baseline(r, fingerprint_of(infos.get(r.spec.name), r), keep_outputs=True)
                for r in self.results(REFERENCE)
            }
        found = {}
        for result in self.results():
            try:
                stored = read_baseline(baseline_path(self.baselines_dir, result.spec.name))
            except BaselineError:
                continue  # the gate reports it
            if stored is not None:
                found[result.spec.name] = stored
        return found

    def finish(self, config: pytest.Config) -> None:
        """Gate the run, then build and publish its report."""
        baselines = self.compared_baselines()
        self.gate = self.run_gate()
        settings = {f.name: getattr(self.settings, f.name) for f in dataclasses.fields(self.settings)}
        self.report = build_report(
            self.results(),
            self.gate,
            settings,
            baselines=baselines,
            git_commit=git_commit(self.rootpath),
            infos=self._infos(MODEL),
            subset=self.partial,
        )
        s = self.settings
        self.published = publish(
            self.report,
            json_path=s.report_json,
            html_path=s.report_html,
            history_path=self.history_path,
            step_summary=os.environ.get("GITHUB_STEP_SUMMARY"),
            mlflow=s.mlflow,
        )
        junit.add_suite_properties(config, self.report)

    def end_session(self, session: pytest.Session, exitstatus: int) -> None:
        """At the end of the run: decide, publish, and fail the run if a suite fails it. It must
        run before junitxml writes its file (see junit)."""
        # An interrupted run decides nothing and writes nothing: baselines stay as they were.
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        if session.shouldfail or session.shouldstop or self.interrupted:  # -x, --maxfail, Ctrl-C:
            self.partial = True  # not every case ran, so no bound is judged on those that did
        if self.results() and not self.interrupted:
            self.finish(session.config)
            if junit.wanted(session.config):
                junit.add_gate_testcases(session.config, self.suite_failures())
        if self.failures() and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
