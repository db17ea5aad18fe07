"""Requests, results and the Engine protocol shared by every backend.

Everything here is plain data with no heavy imports, so the plugin, the cache and the
reports can use these types without loading torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length"]
Message = Mapping[str, str]


class EngineError(RuntimeError):
    """A request the engine cannot serve (bad input, unsupported feature)."""


class ServerUnavailable(EngineError):
    """A server that did not answer after every retry: later requests to it would fail the same way."""


def finished_before(exc: BaseException) -> dict[int, object]:
    """The answers of a batch that were done when ``exc`` (a failed request, Ctrl-C) stopped it,
    by position in the batch: a backend that answers requests one by one attaches them, so the
    response cache keeps them instead of asking again."""
    finished = getattr(exc, "llmeval_finished", None)
    return finished if isinstance(finished, dict) else {}


class ModelLoadError(EngineError):
    """The configured model could not be found or loaded."""


@dataclass(frozen=True)
class GenerationSpec:
    """Everything that decides what a generation returns, resolved before it reaches a backend.

    Backends apply exactly this and nothing from a model's own ``generation_config``, so the
    same spec means the same decoding on every backend.
    """

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    n: int = 1
    json_schema: str | None = None  # canonical JSON text of a JSON Schema, for structured output

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise EngineError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.temperature < 0 or not math.isfinite(self.temperature):
            raise EngineError(f"temperature must be a finite number >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise EngineError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.n < 1:
            raise EngineError(f"n must be at least 1, got {self.n}")
        if self.greedy and self.n > 1:
            raise EngineError("n > 1 needs temperature > 0: greedy samples would all be identical")
        if any(not s for s in self.stop):
            raise EngineError("stop sequences must be non-empty strings")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt, given either as raw text or as chat messages (rendered by the chat template)."""

    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    spec: GenerationSpec = field(default_factory=GenerationSpec)

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise EngineError("a generation request needs exactly one of prompt or messages")
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise EngineError(f"prompt must be a str, got {type(self.prompt).__name__}")
        if self.messages is not None:
            if not self.messages:
                raise EngineError("messages must not be empty")
            for message in self.messages:
                if "role" not in message or "content" not in message:
                    raise EngineError(f"each message needs 'role' and 'content', got {dict(message)!r}")


# A few hundred KB of text is far past any answer an eval wants; a runaway server or model past it
# would otherwise fill memory, the cache and every report (4 answers of 30 MB made a 1 GB process).
DEFAULT_MAX_ANSWER_CHARS = 262_144


@dataclass(frozen=True)
class Completion:
    """One generated answer. ``cut_from`` is the length the engine returned when the answer was
    longer than the cap (``--llmeval-max-answer-chars``) and was cut to it; None when it is whole."""

    text: str
    finish_reason: FinishReason
    completion_tokens: int
    cut_from: int | None = None

    def capped(self, limit: int) -> Completion:
        """This answer cut to ``limit`` characters (0: no limit); a cut answer ends by "length"."""
        if not limit or len(self.text) <= limit:
            return self
        whole = self.cut_from if self.cut_from is not None else len(self.text)
        return replace(self, text=self.text[:limit], finish_reason="length", cut_from=whole)


@dataclass(frozen=True)
class Timing:
    """How long the engine call that computed an answer took, measured in this run.

    ``seconds`` is the wall time of the whole call (what a caller waited for this answer);
    ``batch_size`` is how many requests that call answered, so ``seconds / batch_size`` is
    this answer's share of the engine's time.
    """

    seconds: float
    batch_size: int

    @property
    def share(self) -> float:
        return self.seconds / self.batch_size


@dataclass(frozen=True)
class GenerationResult:
    """The ``spec.n`` completions of one request.

    ``timing`` is set by the response cache for answers computed in this run, and is None for
    answers read from disk: a stored answer's old timing says nothing about this run's speed.
    """

    completions: tuple[Completion, ...]
    prompt_tokens: int
    timing: Timing | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        return self.completions[0].text


@dataclass(frozen=True)
class LoglikelihoodRequest:
    context: str
    continuation: str

    def __post_init__(self) -> None:
        if not isinstance(self.context, str) or not isinstance(self.continuation, str):
            raise EngineError("loglikelihood context and continuation must both be str")
        if not self.continuation:
            raise EngineError("loglikelihood continuation must not be empty")


@dataclass(frozen=True)
class LoglikelihoodResult:
    """Summed log-probability of the continuation given the context (lm-evaluation-harness semantics).

    ``truncated_tokens`` counts context tokens dropped from the left because context plus
    continuation did not fit the model's maximum length; 0 means the full context was seen.
    """

    logprob: float
    is_greedy: bool
    num_tokens: int
    truncated_tokens: int = 0


@dataclass(frozen=True)
class RollingResult:
    """Log-likelihood of a whole text, scored in disjoint windows of the model's maximum length."""

    logprob: float
    num_tokens: int
    num_words: int
    num_bytes: int

    @classmethod
    def of(cls, text: str, logprob: float, num_tokens: int) -> RollingResult:
        # Words are lm-eval's: the pieces of re.split(r"\s+"), so a trailing space counts one more.
        return cls(logprob, num_tokens, len(re.split(r"\s+", text)), len(text.encode("utf-8")))

    @property
    def token_perplexity(self) -> float:
        return math.exp(-self.logprob / self.num_tokens)

    @property
    def word_perplexity(self) -> float:
        return math.exp(-self.logprob / max(self.num_words, 1))

    @property
    def byte_perplexity(self) -> float:
        return math.exp(-self.logprob / max(self.num_bytes, 1))

    @property
    def bits_per_byte(self) -> float:
        return -self.logprob / max(self.num_bytes, 1) / math.log(2)


_NOT_IDENTITY = ("device", "versions", "structured_output", "logprobs")


@dataclass(frozen=True)
class EngineInfo:
    """What identifies the model behind an engine: two engines with equal fingerprints answer alike."""

    backend: str
    model: str
    weights_hash: str
    dtype: str
    device: str
    tokenizer_hash: str
    chat_template_hash: str
    max_length: int
    lora: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    # What the engine can do, so that a check asks for it instead of testing a backend's name:
    # decoding held to a JSON Schema (``schema=``), and log-probabilities (``loglikelihood``).
    structured_output: bool = False
    logprobs: bool = False

    def fingerprint(self) -> str:
        # The device, library versions and capabilities are left out on purpose: they change
        # numbers only within float noise (or not at all) and must not invalidate caches and
        # baselines on every upgrade.
        identity = {k: v for k, v in asdict(self).items() if k not in _NOT_IDENTITY}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


@runtime_checkable
class Engine(Protocol):
    """A loaded model. Every method is batch-first and returns one result per request, in order."""

    @property
    def info(self) -> EngineInfo: ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]: ...

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]: ...

    def close(self) -> None: ...
