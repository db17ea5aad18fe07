"""The per-run state the plugin registers: settings, the engine pool and the run's records.

Its hooks hand off: the records collect each suite case's report (on the xdist controller,
from the workers' reports), decide the run at its end, and the terminal summary says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .engine_pool import EnginePool
from .report.terminal import summary
from .run_records import RunRecords
from .settings import Settings


class LLMEvalSession:
    """One pytest run of the plugin: its settings, its engines (:class:`EnginePool`) and its
    records (:class:`RunRecords`). Registered as a pytest plugin for the hooks below."""

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
        # ``rootpath`` is the project folder the plugin's files live under (see plugin.project_folder).
        cache_dir = None if settings.no_cache else settings.cache_dir or rootpath / ".llmeval" / "cache"
        self.pool = EnginePool(settings, cache_dir)
        self.run = RunRecords(settings, rootpath, partial=partial, all_suites=all_suites)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.is_worker:
            self.run.collect(report)

    # tryfirst: before junitxml writes its file in its own pytest_sessionfinish.
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.is_worker:
            self.run.end_session(session, exitstatus)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.is_worker or not self.run.results():
            return
        terminalreporter.section("llmeval summary")
        for line, style in summary(self.run, verbose=terminalreporter.config.get_verbosity() > 0):
            terminalreporter.write_line(line, **style)


session_key = pytest.StashKey[LLMEvalSession]()
