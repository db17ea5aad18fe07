"""The per-run state the plugin registers: settings and the engines loaded so far."""

from __future__ import annotations

import pytest

from .engine import ModelLoadError, create_engine
from .engine.types import Engine
from .llm import LLM
from .settings import Settings


class LLMEvalSession:
    """Owns every engine of a pytest run, so each model is loaded at most once and closed at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: dict[Settings, Engine] = {}
        self._failures: dict[Settings, ModelLoadError] = {}

    def llm(self, settings: Settings) -> LLM:
        """The model for ``settings``, loaded on first use. A load failure is remembered, not retried."""
        if settings in self._failures:
            raise self._failures[settings]
        if settings not in self._engines:
            try:
                self._engines[settings] = create_engine(settings)
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
