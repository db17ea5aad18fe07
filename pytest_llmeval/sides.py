"""Two models in one run (--llmeval-compare-model): each suite case runs on both, side by side.

The ``llm`` fixture stays one session-wide object; what changes per test item is which model
answers. A suite item knows its side (``ActiveCase.side``), so the engine behind the fixture
routes every call to the engine of the side that is running: test code is the same for both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .engine.types import (
    Engine,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingResult,
)
from .suite import active_case

MODEL, REFERENCE = "model", "reference"


def current_side() -> str:
    """The side of the running suite case; plain tests always run on the model under test."""
    active = active_case()
    return active.side if active is not None else MODEL


class SideEngine:
    """An Engine that sends each call to the model under test or to the reference model."""

    def __init__(self, engines: Mapping[str, Engine]) -> None:
        self._engines = dict(engines)

    @property
    def current(self) -> Engine:
        return self._engines[current_side()]

    @property
    def info(self) -> EngineInfo:
        return self.current.info

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return self.current.generate(requests)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return self.current.loglikelihood(requests)

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        return self.current.loglikelihood_rolling(texts)

    def close(self) -> None:
        pass  # the session closes each engine it made
