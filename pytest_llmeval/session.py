"""The per-run state the plugin registers: settings, engines, pre-generation and suite records."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import pytest

from .cases import Case
from .engine import ModelLoadError, create_engine, engine_identity
from .engine.cache import CachedEngine
from .engine.types import GenerationRequest, GenerationSpec, LoglikelihoodRequest
from .llm import LLM
from .settings import Settings
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

Progress = Callable[[int, int], None]  # (cases done, cases in all)


class LLMEvalSession:
    """Owns every engine of a pytest run, so each model is loaded at most once and closed at the end.

    It is registered as a pytest plugin: its hooks collect the suites' records (on the xdist
    controller, from the workers' reports) and turn them into the summary and the exit status.
    """

    def __init__(self, settings: Settings, rootpath: Path, *, is_worker: bool = False) -> None:
        self.settings = settings
        self.is_worker = is_worker
        self.cache_dir = None if settings.no_cache else settings.cache_dir or rootpath / ".llmeval" / "cache"
        self._engines: dict[Settings, CachedEngine] = {}
        self._failures: dict[Settings, ModelLoadError] = {}
        self.suites: dict[str, SuiteSpec] = {}
        self.records: list[CaseRecord] = []
        self.prefetch_note: str | None = None

    # ----- engines -----

    def llm(self, settings: Settings) -> LLM:
        """The model for ``settings``, loaded on first use. A load failure is remembered, not retried."""
        if settings in self._failures:
            raise self._failures[settings]
        if settings not in self._engines:
            try:
                identity = engine_identity(settings) if self.cache_dir is not None else None
                self._engines[settings] = CachedEngine.lazy(
                    partial(create_engine, settings), self.cache_dir, identity
                )
            except ModelLoadError as exc:
                self._failures[settings] = exc
                raise
        return LLM(self._engines[settings])

    def default_llm(self) -> LLM:
        """The run's own model. If it cannot load, no test can use it: stop the run with one line."""
        try:
            return self.llm(self.settings)
        except ModelLoadError as exc:
            pytest.exit(f"llmeval: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)

    def judge_llm(self) -> LLM:
        """The judge model. Tests that need it are skipped, not failed, when no judge is configured."""
        judge_settings = self.settings.for_judge()
        if judge_settings is None:
            pytest.skip("no judge model: set --llmeval-judge-model (or LLMEVAL_JUDGE_MODEL)")
        try:
            return self.llm(judge_settings)
        except ModelLoadError as exc:
            pytest.exit(f"llmeval: judge: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)

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
        return lines

    # ----- pre-generation -----

    def prefetch(
        self, cases: Sequence[tuple[SuiteSpec, Case]], progress: Progress | None = None
    ) -> str | None:
        """Answer every selected suite case ahead, in large batches, before the first one runs.

        Generation is grouped by the suites' generation settings; multiple-choice cases are
        scored by loglikelihood, and the texts of perplexity suites by rolling loglikelihood.
        Returns a one-line account, or None when there is no model.
        """
        if not cases or (self.settings.model is None and self.settings.base_url is None):
            return None
        try:
            engine = self.llm(self.settings).engine
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
        # Chunks of whole cases keep the progress bar moving while each batch stays large.
        total, done = len(cases), 0
        step = max(64, total // 20)
        for requests in generation.values():
            for start in range(0, len(requests), step):
                chunk = requests[start : start + step]
                engine.prefetch(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        for start in range(0, len(choices), step):
            chunk_cases = choices[start : start + step]
            engine.loglikelihood([r for case_requests in chunk_cases for r in case_requests])
            done += len(chunk_cases)
            if progress:
                progress(done, total)
        for start in range(0, len(texts), step):
            engine.loglikelihood_rolling(texts[start : start + step])
            done += len(texts[start : start + step])
            if progress:
                progress(done, total)
        computed = engine.stats.misses - before
        seconds = time.perf_counter() - started
        kinds = f"{sum(map(len, generation.values()))} generations, {len(choices)} multiple choice"
        if texts:
            kinds += f", {len(texts)} perplexity"
        return (
            f"llmeval: pre-generated {total} cases ({kinds}) in {seconds:.1f} s; "
            f"{computed} requests computed, the rest from the cache"
        )

    # ----- records, summary, exit status -----

    def add_record(self, record: CaseRecord, spec: SuiteSpec) -> None:
        self.suites.setdefault(spec.name, spec)
        self.records.append(record)

    def results(self) -> list[SuiteResult]:
        return group_records(self.suites, self.records)

    def failures(self) -> list[str]:
        return [f"suite {r.spec.name}: {p}" for r in self.results() for p in r.threshold_failures()]

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "llmeval_record", None)
        if data is not None and not self.is_worker:
            self.add_record(CaseRecord.from_json(data), SuiteSpec.from_json(report.llmeval_suite))

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.is_worker and self.failures() and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        results = self.results()
        if self.is_worker or not results:
            return
        terminalreporter.section("llmeval summary")
        for line in summary_lines(results):
            terminalreporter.write_line(line)
        failures = self.failures()
        if failures:
            terminalreporter.write_line(f"llmeval: run FAILED: {failures[0]}", red=True, bold=True)
            for extra in failures[1:]:
                terminalreporter.write_line(f"llmeval: also: {extra}", red=True)


def summary_lines(results: Sequence[SuiteResult]) -> list[str]:
    width = max(len(r.spec.name) for r in results)
    lines = []
    for result in results:
        low, high = result.pass_rate_interval()
        xfailed = sum(not r.passed and not r.error for r in result.records)
        errors = sum(r.error for r in result.records)
        verdict = "below threshold" if result.threshold_failures() else "ok"
        bound = f" (min {result.spec.min_pass_rate})" if result.spec.min_pass_rate is not None else ""
        metrics = "".join(f"  {v.text()}" for v in result.metrics[0])
        lines.append(
            f"{result.spec.name:<{width}}  {len(result.records)} cases  pass {result.pass_rate:.3f} "
            f"[{low:.3f}, {high:.3f}]{metrics}  failed checks {xfailed}  errors {errors}  {verdict}{bound}"
        )
    return lines
