"""The per-run state the plugin registers: settings, engines, pre-generation and suite records."""

from __future__ import annotations

import dataclasses
import os
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

import pytest
from _pytest import junitxml

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
from .cases import Case
from .engine import ModelLoadError, create_engine, engine_identity
from .engine.cache import CachedEngine
from .engine.types import GenerationRequest, GenerationSpec, LoglikelihoodRequest, ServerUnavailable
from .llm import LLM
from .report import RunReport, build_report, git_commit
from .report.publish import publish
from .settings import Settings
from .sides import MODEL, REFERENCE, SideEngine
from .suite import (
    CaseRecord,
    SuiteResult,
    SuiteSpec,
    case_text,
    choice_requests,
    generation_request,
    group_records,
    wants_perplexity,
)

Advance = Callable[[int, int], None]  # (cases just answered, tokens just generated)


class LLMEvalSession:
    """Owns every engine of a pytest run, so each model is loaded at most once and closed at the end.

    It is registered as a pytest plugin: its hooks collect the suites' records (on the xdist
    controller, from the workers' reports) and turn them into the summary and the exit status.
    """

    def __init__(
        self,
        settings: Settings,
        rootpath: Path,
        *,
        is_worker: bool = False,
        partial: bool = False,
        all_suites: bool = False,
    ) -> None:
        self.settings = settings
        self.is_worker = is_worker
        self.partial = partial  # -k, -m, --lf or node ids (or later: -x stopped the run)
        self.all_suites = all_suites  # no test file or node was named: every suite was collected
        # ``rootpath`` is the project folder the plugin's files live under (see plugin.project_folder).
        self.cache_dir = None if settings.no_cache else settings.cache_dir or rootpath / ".llmeval" / "cache"
        self.baselines_dir = settings.baselines or rootpath / "baselines"
        self.rootpath = rootpath
        self.history_path = settings.history or rootpath / ".llmeval" / "history.jsonl"
        self.report: RunReport | None = None
        self.published: list[str] = []
        self._engines: dict[Settings, CachedEngine] = {}
        self._failures: dict[Settings, ModelLoadError] = {}
        self.suites: dict[str, SuiteSpec] = {}
        self.records: list[CaseRecord] = []
        self.engine_infos: dict[str, dict[str, object]] = {}  # suite -> info of the model that ran it
        self.prefetch_note: str | None = None
        self.gate: RunGate | None = None
        self.interrupted = False

    # ----- engines -----

    def llm(self, settings: Settings) -> LLM:
        """The model for ``settings``, loaded on first use. A load failure is remembered, not retried."""
        if settings in self._failures:
            raise self._failures[settings]
        if settings not in self._engines:
            try:
                identity = engine_identity(settings) if self.cache_dir is not None else None
                self._engines[settings] = CachedEngine.lazy(
                    partial(create_engine, settings), self.cache_dir, identity, settings.max_answer_chars
                )
            except ModelLoadError as exc:
                self._failures[settings] = exc
                raise
        return LLM(self._engines[settings])

    def default_llm(self) -> LLM:
        """The run's own model. If it cannot load, no test can use it: stop the run with one line.

        With --llmeval-compare-model it answers from the model under test or the reference
        model, whichever side the running suite case is on."""
        reference = self.settings.for_reference()
        try:
            model = self.llm(self.settings)
            if reference is None:
                return model
            return LLM(SideEngine({MODEL: model.engine, REFERENCE: self.llm(reference).engine}))
        except ModelLoadError as exc:
            pytest.exit(f"llmeval: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)

    def side_settings(self, side: str) -> Settings:
        reference = self.settings.for_reference()
        return reference if side == REFERENCE and reference is not None else self.settings

    def judge_llm(self) -> LLM:
        """The judge model. Tests that need it are skipped, not failed, when no judge is configured."""
        judge_settings = self.settings.for_judge()
        if judge_settings is None:
            pytest.skip("no judge model: set --llmeval-judge-model (or LLMEVAL_JUDGE_MODEL)")
        try:
            return self.llm(judge_settings)
        except ModelLoadError as exc:
            pytest.exit(f"llmeval: judge: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)

    def engine_info(self, settings: Settings) -> dict[str, object] | None:
        """What a baseline records of the engine for ``settings``, if this process has made one:
        plain strings, since xdist workers send it to the controller."""
        engine = self._engines.get(settings)
        if engine is None:
            return None
        info = engine.info
        return {
            "backend": info.backend,
            "model": info.model,
            "weights_hash": info.weights_hash,
            "dtype": info.dtype,
            "lora": info.lora,
        }

    def close(self) -> None:
        engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.close()

    def header_lines(self) -> list[str]:
        from .engine import resolve_backend

        s = self.settings
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

    # ----- pre-generation -----

    def prefetch(
        self,
        cases: Sequence[tuple[SuiteSpec, Case]],
        advance: Advance = lambda cases, tokens: None,
        settings: Settings | None = None,
    ) -> str | None:
        """Answer every selected suite case ahead, in large batches, before the first one runs.

        Generation is grouped by the suites' generation settings; multiple-choice cases are
        scored by loglikelihood, and the texts of perplexity suites by rolling loglikelihood.
        ``settings`` picks the model (default: the run's); ``advance`` hears of every finished
        chunk. Returns a one-line account, or None when there is no model.
        """
        settings = settings or self.settings
        if not cases or (settings.model is None and settings.base_url is None):
            return None
        try:
            engine = self.llm(settings).engine
        except ModelLoadError:
            return None  # the llm fixture reports it, once, when the first test asks
        assert isinstance(engine, CachedEngine)
        started = time.perf_counter()
        before = engine.stats.misses
        generation: dict[GenerationSpec, list[GenerationRequest]] = defaultdict(list)
        choices: list[list[LoglikelihoodRequest]] = []
        texts: list[str] = []
        for spec, case in cases:
            if case.choices is not None:
                choices.append(choice_requests(case))
            elif wants_perplexity(spec):
                if case.prompt is not None:
                    texts.append(case_text(case))
            else:
                generation[spec.generation].append(generation_request(case, spec.generation))
        # Chunks of whole cases keep the progress moving and put each chunk's answers into the
        # cache as soon as it is done, so an interrupted run keeps them. Prompts are sorted by
        # length first, so a chunk is what one big call would have batched together anyway.
        step = max(64, len(cases) // 20)
        try:
            for requests in generation.values():
                requests.sort(key=_prompt_size)
                for start in range(0, len(requests), step):
                    results = engine.prefetch(requests[start : start + step])
                    fresh = [r for r in results if r.timing is not None]
                    advance(len(results), sum(c.completion_tokens for r in fresh for c in r.completions))
            for start in range(0, len(choices), step):
                chunk_cases = choices[start : start + step]
                engine.loglikelihood([r for case_requests in chunk_cases for r in case_requests])
                advance(len(chunk_cases), 0)
            for start in range(0, len(texts), step):
                engine.loglikelihood_rolling(texts[start : start + step])
                advance(len(texts[start : start + step]), 0)
        except ServerUnavailable as exc:
            # Every case that still needs an answer fails at once with this, rather than each
            # waiting through the retries again; what finished is in the cache.
            engine.broken = exc
            return f"llmeval: {engine.info.backend} backend: {exc}"
        except Exception as exc:  # one bad request (too long, not encodable, refused) spoils a batch
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return (
                f"llmeval: pre-generation stopped ({type(exc).__name__}: {first[:300]}); the cases not "
                "answered yet ask one by one, so only the one at fault fails"
            )
        computed = engine.stats.misses - before
        seconds = time.perf_counter() - started
        kinds = f"{sum(map(len, generation.values()))} generations, {len(choices)} multiple choice"
        if texts:
            kinds += f", {len(texts)} perplexity"
        return (
            f"llmeval: pre-generated {len(cases)} cases ({kinds}) in {seconds:.1f} s; "
            f"{computed} requests computed, the rest from the cache"
        )

    # ----- records, summary, exit status -----

    def add_record(self, record: CaseRecord, spec: SuiteSpec, info: dict[str, object] | None = None) -> None:
        self.suites.setdefault(spec.name, spec)
        self.records.append(record)
        if info is not None:
            self.engine_infos[f"{record.side}:{spec.name}"] = info

    def results(self, side: str = MODEL) -> list[SuiteResult]:
        return group_records(self.suites, [r for r in self.records if r.side == side])

    def failures(self) -> list[str]:
        """Why the run fails. A suite's own thresholds hold only when all its cases ran: on a
        subset (-k, --lf, -x...) its pass rate says nothing about the suite."""
        thresholds = [] if self.partial else self.threshold_failures()
        return thresholds + (self.gate.failures() if self.gate is not None else [])

    def threshold_failures(self) -> list[str]:
        return [f"suite {r.spec.name}: {p}" for r in self.results() for p in r.threshold_failures()]

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

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "llmeval_record", None)
        if data is not None and not self.is_worker:
            info = getattr(report, "llmeval_engine", None)
            self.add_record(CaseRecord.from_json(data), SuiteSpec.from_json(report.llmeval_suite), info)

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
        xml = config.stash.get(junitxml.xml_key, None)
        if xml is not None:  # JUnit XML: each suite's numbers and verdict as testsuite properties
            for suite in self.report.suites:
                xml.add_global_property(f"llmeval.{suite.name}.verdict", suite.verdict)
                xml.add_global_property(f"llmeval.{suite.name}.cases", str(len(suite.cases)))
                xml.add_global_property(f"llmeval.{suite.name}.pass_rate", f"{suite.pass_rate:.4f}")
                for metric in suite.metrics:
                    xml.add_global_property(f"llmeval.{suite.name}.{metric.name}", f"{metric.value:.4f}")

    # tryfirst: before junitxml writes its file in its own pytest_sessionfinish.
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            return
        # An interrupted run decides nothing and writes nothing: baselines stay as they were.
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        if session.shouldfail or session.shouldstop:  # -x or --maxfail: not every case ran
            self.partial = True
        if self.results() and not self.interrupted:
            self.finish(session.config)
            if session.config.option.xmlpath:
                self.report_to_junit(session.config)
        if self.failures() and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def report_to_junit(self, config: pytest.Config) -> None:
        """Each suite that fails the run becomes a failed testcase ``llmeval.gate`` / suite name,
        so a CI dashboard that reads only JUnit sees the failure the exit status reports."""
        for result in self.results():
            prefix = f"suite {result.spec.name}: "
            problems = [f.removeprefix(prefix) for f in self.failures() if f.startswith(prefix)]
            if not problems:
                continue
            nodeid = f"llmeval.gate::{result.spec.name}"
            for when, outcome in (("call", "failed"), ("teardown", "passed")):
                report = pytest.TestReport(
                    nodeid=nodeid,
                    location=("llmeval.gate", None, result.spec.name),
                    keywords={},
                    outcome=outcome,  # type: ignore[arg-type]
                    longrepr="\n".join(problems) if outcome == "failed" else None,
                    when=when,  # type: ignore[arg-type]
                )
                config.hook.pytest_runtest_logreport(report=report)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        results = self.results()
        if self.is_worker or not results:
            return
        terminalreporter.section("llmeval summary")
        for line in summary_lines(results, self.gate, subset=self.partial):
            terminalreporter.write_line(line)
        verbose = terminalreporter.config.get_verbosity() > 0
        if self.gate is not None:
            reasons = {(r.suite, r.case_id): r.reason() for r in self.records if r.side == MODEL}
            for line, style in gate_lines(self.gate, reasons if verbose else None):
                terminalreporter.write_line(line, **style)
        elif self.interrupted:
            terminalreporter.write_line("llmeval: interrupted: no baseline compared or written")
        for line in self.published:
            terminalreporter.write_line(line)
        if self.partial:
            for problem in self.threshold_failures():
                terminalreporter.write_line(f"llmeval: {problem} (subset, not enforced)")
        failures = self.failures()
        if failures:
            terminalreporter.write_line(f"llmeval: run FAILED: {failures[0]}", red=True, bold=True)
            for extra in failures[1:]:
                terminalreporter.write_line(f"llmeval: also: {extra}", red=True)


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
        if errors:  # a suite whose cases could not run is never "ok", whatever else holds
            problems.append(f"{errors} case(s) raised an error")
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


def gate_lines(
    run: RunGate, reasons: Mapping[tuple[str, str], str] | None = None
) -> list[tuple[str, dict[str, bool]]]:
    """The gate's part of the summary: one line per compared metric (metric, old -> new, the change
    with its interval, p, the decision), what the suite could have detected, the flips, and the
    notes and warnings. With ``reasons`` (-v), every flipped case gets a line with why it fails
    now; without, the first ten are named."""
    lines: list[tuple[str, dict[str, bool]]] = []
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


def _prompt_size(request: GenerationRequest) -> int:
    if request.messages is not None:
        return sum(len(m["content"]) for m in request.messages)
    return len(request.prompt or "")
