"""An engine that answers every prompt with the prompt itself, prefixed with "echo: "."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_llmeval import (
    Engine,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelLoadError,
    RollingResult,
    Settings,
)
from pytest_llmeval.engine.types import Completion


class EchoEngine:
    def __init__(self, model: str) -> None:
        self._info = EngineInfo(
            backend="echo",
            model=model,
            weights_hash="echo",
            dtype="none",
            device="none",
            tokenizer_hash="words",
            chat_template_hash="last-message",
            max_length=1 << 20,
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        results = []
        for request in requests:
            prompt = request.prompt if request.messages is None else request.messages[-1]["content"]
            words = f"echo: {prompt}".split(" ")
            text = " ".join(words[: request.spec.max_tokens])
            finish = "stop" if len(words) <= request.spec.max_tokens else "length"
            completion = Completion(text, finish, min(len(words), request.spec.max_tokens))
            results.append(GenerationResult((completion,) * request.spec.n, len(str(prompt).split())))
        return results

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        # One nat per word: shorter continuations are likelier.
        return [LoglikelihoodResult(-float(len(r.continuation.split())), True, 1) for r in requests]

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        return [RollingResult.of(t, -float(len(t.split())), max(len(t.split()), 1)) for t in texts]

    def close(self) -> None:
        pass


def make(settings: Settings) -> Engine:
    """The factory the entry point names: the run's settings in, an engine out."""
    if settings.model is None:
        raise ModelLoadError("the echo backend needs --llmeval-model (any name)")
    return EchoEngine(settings.model)
