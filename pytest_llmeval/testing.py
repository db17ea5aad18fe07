"""A scripted engine for testing your own fixtures, checks and suites without a model.

``ScriptedEngine`` satisfies the ``Engine`` protocol with canned answers, the way httpx's
``MockTransport`` stands in for a server: wrap it in ``LLM`` (or return it from an engine
factory), run the code under test, then assert on what the engine was asked::

    from pytest_llmeval import LLM
    from pytest_llmeval.testing import ScriptedEngine

    engine = ScriptedEngine({"What is 2+2?": "4"}, default="I don't know")
    llm = LLM(engine)
    assert llm.generate("What is 2+2?") == "4"
    assert engine.prompts == ["What is 2+2?"]

It imports nothing heavy (no torch, no vllm): only this package's plain request and result types.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from .engine.types import (
    Completion,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingResult,
)

__all__ = ["Answer", "ScriptedEngine", "prompt_text"]

# What a script gives for one generation request: the text of every sample; one text per sample
# (cycled when the request asks for more); or a Completion or whole GenerationResult, used as is.
Answer = str | Sequence[str] | Completion | GenerationResult
AnswerScript = Mapping[str, Answer] | Callable[[GenerationRequest], Answer]
LogprobScript = (
    Mapping[str, float] | Mapping[tuple[str, str], float] | Callable[[LoglikelihoodRequest], float]
)
RollingScript = Mapping[str, float | RollingResult] | Callable[[str], float | RollingResult]
Request = GenerationRequest | LoglikelihoodRequest | str


def prompt_text(request: GenerationRequest) -> str:
    """The text a script looks a request up by: its prompt, or its last message's content."""
    if request.prompt is not None:
        return request.prompt
    assert request.messages is not None  # a GenerationRequest has one or the other
    return request.messages[-1]["content"]


def _words(text: str) -> int:
    return len(text.split())


class ScriptedEngine:
    """An ``Engine`` that answers from a script and records every request it is given.

    ``answers``: a mapping from prompt text (a raw prompt, or the content of a chat request's last
    message) to an answer, or a function of the whole ``GenerationRequest`` that returns one. An
    answer is a ``str`` (every sample gets it), a list of strings (one per sample, cycled), a
    ``Completion`` or a ``GenerationResult``. A string answer behaves like a real model's: it is
    cut at the first of the request's ``stop`` sequences (finish reason "stop"), and after
    ``max_tokens`` tokens (finish reason "length"). A scripted token is a whitespace-separated
    word, for ``max_tokens`` and for the token counts of the result.

    ``default``: the answer to a prompt the mapping lacks (or the function returns None for).
    Without one, an unscripted prompt is an ``EngineError`` that names it: a test never passes on
    an answer nobody wrote.

    ``loglikelihoods``: the summed logprob of a continuation, by ``continuation``, by
    ``(context, continuation)`` (which wins), or from a function of the request; a request it
    does not cover is an ``EngineError``. ``rolling``: a text's rolling logprob (or whole
    ``RollingResult``), by text or from a function; without it every text scores one nat per word.

    ``structured_output`` and ``logprobs`` are what the engine declares in ``info``, so that code
    which asks ``llm.info`` can be tested both ways; a ``json_schema`` request to an engine without
    structured output, and a loglikelihood request to one without logprobs, are refused like a
    real backend refuses them. A scripted answer is not held to the schema: script valid JSON.

    What was asked is kept in order: ``requests`` (generation), ``loglikelihood_requests``,
    ``rolling_texts``, every call as ``batches`` (one list per call), and ``prompts`` (the text
    of each generation request).
    """

    def __init__(
        self,
        answers: AnswerScript | None = None,
        *,
        default: Answer | None = None,
        loglikelihoods: LogprobScript | None = None,
        rolling: RollingScript | None = None,
        model: str = "scripted",
        structured_output: bool = True,
        logprobs: bool = True,
        max_length: int = 2048,
    ) -> None:
        self.answers: AnswerScript = answers if answers is not None else {}
        self.default = default
        self.loglikelihood_script = loglikelihoods
        self.rolling_script = rolling
        self.requests: list[GenerationRequest] = []
        self.loglikelihood_requests: list[LoglikelihoodRequest] = []
        self.rolling_texts: list[str] = []
        self.batches: list[list[Request]] = []
        self.closed = False
        # A table script is its own identity, so a response cache may keep its answers across
        # runs; a function's repr differs in every process, so its answers are never reused.
        script = repr((answers, default, loglikelihoods, rolling))
        self._info = EngineInfo(
            backend="scripted",
            model=model,
            weights_hash=hashlib.sha256(script.encode()).hexdigest()[:16],
            dtype="none",
            device="cpu",
            tokenizer_hash="words",
            chat_template_hash="last-message",
            max_length=max_length,
            structured_output=structured_output,
            logprobs=logprobs,
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    @info.setter
    def info(self, value: EngineInfo) -> None:
        self._info = value

    @property
    def prompts(self) -> list[str]:
        """The text of every generation request so far: its prompt, or its last message's content."""
        return [prompt_text(r) for r in self.requests]

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        batch = list(requests)
        self.batches.append(list(batch))
        self.requests.extend(batch)
        for request in batch:
            if request.spec.json_schema is not None and not self._info.structured_output:
                raise EngineError(
                    "this scripted engine declares no structured output (structured_output=False)"
                )
        return [self._result(request, self._answer(request)) for request in batch]

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        batch = list(requests)
        self.batches.append(list(batch))
        self.loglikelihood_requests.extend(batch)
        if not self._info.logprobs:
            raise EngineError("this scripted engine declares no logprobs (logprobs=False)")
        return [
            LoglikelihoodResult(self._logprob(r), is_greedy=False, num_tokens=max(_words(r.continuation), 1))
            for r in batch
        ]

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        batch = list(texts)
        self.batches.append(list(batch))
        self.rolling_texts.extend(batch)
        if not self._info.logprobs:
            raise EngineError("this scripted engine declares no logprobs (logprobs=False)")
        results = []
        for text in batch:
            tokens = max(_words(text), 1)
            scored: float | RollingResult
            if self.rolling_script is None:
                scored = -float(tokens)
            elif callable(self.rolling_script):
                scored = self.rolling_script(text)
            elif text in self.rolling_script:
                scored = self.rolling_script[text]
            else:
                raise EngineError(f"ScriptedEngine: no rolling logprob scripted for {text!r}")
            results.append(
                scored if isinstance(scored, RollingResult) else RollingResult.of(text, scored, tokens)
            )
        return results

    def close(self) -> None:
        self.closed = True

    # ----- the script -----

    def _answer(self, request: GenerationRequest) -> Answer:
        text = prompt_text(request)
        scripted = self.answers
        answer = scripted(request) if callable(scripted) else scripted.get(text)
        if answer is None:
            answer = self.default
        if answer is None:
            known = "a function" if callable(scripted) else f"scripted prompts: {sorted(scripted)}"
            raise EngineError(f"ScriptedEngine: no answer scripted for {text!r} and no default= ({known})")
        return answer

    def _result(self, request: GenerationRequest, answer: Answer) -> GenerationResult:
        prompt_tokens = _words(request.prompt or "") + sum(
            _words(m["content"]) for m in request.messages or ()
        )
        if isinstance(answer, GenerationResult):
            return answer
        if isinstance(answer, Completion):
            return GenerationResult((answer,) * request.spec.n, prompt_tokens)
        texts = [answer] if isinstance(answer, str) else list(answer)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise EngineError(
                f"ScriptedEngine: an answer is a str or a non-empty list of str, got {answer!r}"
            )
        samples = tuple(self._complete(texts[i % len(texts)], request) for i in range(request.spec.n))
        return GenerationResult(samples, prompt_tokens)

    @staticmethod
    def _complete(text: str, request: GenerationRequest) -> Completion:
        spec = request.spec
        stops = [text.find(s) for s in spec.stop if s in text]
        cut = min(stops) if stops else len(text)
        kept = text[:cut]
        words = kept.split()
        if len(words) > spec.max_tokens:
            # Keep the text up to the end of the max_tokens-th word, spacing included.
            end, seen = 0, 0
            for word in words[: spec.max_tokens]:
                end = kept.index(word, end) + len(word)
                seen += 1
            return Completion(kept[:end], "length", seen)
        return Completion(kept, "stop", len(words))

    def _logprob(self, request: LoglikelihoodRequest) -> float:
        script = self.loglikelihood_script
        if callable(script):
            return float(script(request))
        if script is not None:
            table = cast(Mapping[object, float], script)
            pair = (request.context, request.continuation)
            if pair in table:
                return float(table[pair])
            if request.continuation in table:
                return float(table[request.continuation])
        raise EngineError(
            f"ScriptedEngine: no loglikelihood scripted for continuation {request.continuation!r} "
            f"after {request.context[-60:]!r}"
        )
