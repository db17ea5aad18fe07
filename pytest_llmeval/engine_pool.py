"""The engines of a pytest run: one per settings, loaded on first use and closed at the end."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from .engine import ModelLoadError, create_engine, engine_identity
from .engine.cache import CachedEngine
from .llm import LLM
from .settings import Settings
from .sides import MODEL, REFERENCE, SideEngine


class EnginePool:
    """Owns every engine of a pytest run, so each model is loaded at most once and closed at the end."""

    def __init__(self, settings: Settings, cache_dir: Path | None) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self._engines: dict[Settings, CachedEngine] = {}
        self._failures: dict[Settings, ModelLoadError] = {}

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
        """The settings of the model a suite case on ``side`` (model or reference) runs on."""
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
