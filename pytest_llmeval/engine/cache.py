"""A content-addressed response cache in front of any engine.

A response is stored under the SHA-256 of the engine's fingerprint and the canonical request,
so a changed model, adapter, tokenizer, chat template or decoding setting can never be served a
stale answer. Each entry is one small JSON file written to a temporary name and renamed into
place: concurrent xdist workers never see half a file, and an interrupted run leaves only whole
entries behind. The same object also holds this session's answers in memory, which is how
pre-generated outputs reach the tests that ask for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from .types import (
    DEFAULT_MAX_ANSWER_CHARS,
    Completion,
    Engine,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelLoadError,
    RollingResult,
    Timing,
    finished_before,
)

CACHE_SCHEMA = 1

Request = TypeVar("Request")
Result = TypeVar("Result")


class CacheWarning(UserWarning):
    """A cache entry could not be read; it is ignored and rebuilt."""


@dataclass
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0  # requests the engine computed
    batches: int = 0  # engine calls they took


_CAPABILITIES = {"structured_output", "logprobs"}


class CachedEngine:
    """An Engine that answers from memory, then from disk, and sends only the misses, as one batch.

    ``directory=None`` keeps the in-memory part only (``--llmeval-no-cache``). Sampled requests
    without a seed are not reproducible, so they never go to disk, and in memory each answer is
    handed out once: two unseeded draws of the same prompt stay two independent samples.

    Built with ``lazy``, the model is loaded only when a request misses the cache: a rerun whose
    answers are all stored never loads it. The fingerprint then comes from a small record kept
    in the cache, written the last time the same files and settings (``identity``) were loaded.
    """

    def __init__(
        self, engine: Engine, directory: Path | None, max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS
    ) -> None:
        self.directory = directory
        self.max_answer_chars = max_answer_chars
        self.stats = CacheStats()
        self._memory: dict[str, Any] = {}
        self._engine: Engine | None = engine
        self._load: Callable[[], Engine] | None = None
        self._identity: str | None = None
        self._load_error: ModelLoadError | None = None
        self._info = engine.info
        self._fingerprint = self._info.fingerprint()
        self._unwritable = False  # set after the first failed write: warn once, then run uncached
        self.broken: EngineError | None = None  # a dead server: later misses fail at once with this

    @classmethod
    def lazy(
        cls,
        load: Callable[[], Engine],
        directory: Path | None,
        identity: str | None,
        max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS,
    ) -> CachedEngine:
        """Load now unless the cache already knows the fingerprint of the engine ``identity`` names."""
        known = cls._known_info(directory, identity) if identity else None
        if known is None:
            cached = cls(load(), directory, max_answer_chars)
            cached._identity = identity
            cached._remember_info()
            return cached
        cached = cls.__new__(cls)
        cached.directory, cached.stats, cached._memory = directory, CacheStats(), {}
        cached.max_answer_chars = max_answer_chars
        cached._engine, cached._load, cached._identity, cached._load_error = None, load, identity, None
        cached._info, cached._fingerprint = known, known.fingerprint()
        cached._unwritable, cached.broken = False, None
        return cached

    @property
    def engine(self) -> Engine:
        """The engine itself, loaded on first use."""
        if self._engine is None:
            assert self._load is not None
            if self._load_error is not None:
                raise self._load_error  # a model that failed to load is not tried again per request
            try:
                self._engine = self._load()
            except ModelLoadError as exc:
                self._load_error = exc
                raise
            if self._engine.info.fingerprint() != self._fingerprint:
                warnings.warn(
                    "llmeval: the loaded model's fingerprint differs from the one recorded for the same "
                    "files; answers are now cached under the new one",
                    CacheWarning,
                    stacklevel=2,
                )
            # The loaded engine's own info, which also says what it can do now (a newer library
            # may add structured output without changing the fingerprint).
            self._info = self._engine.info
            self._fingerprint = self._info.fingerprint()
            self._remember_info()
        return self._engine

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    @property
    def info(self) -> EngineInfo:
        return self._info

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return self._generate(requests, keep_all=False)

    def prefetch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Generate ahead for tests that will ask later: unseeded samples are kept for them too."""
        return self._generate(requests, keep_all=True)

    def _generate(self, requests: Sequence[GenerationRequest], keep_all: bool) -> list[GenerationResult]:
        # Answers are cut to the cap before they are stored or handed out, and again when read,
        # since the cap may have been lowered since; one stored cut shorter than the cap now
        # allows is asked again (the cap was raised).
        return self._answer(
            "generate",
            requests,
            lambda batch: self.engine.generate(batch),
            prepare=self._capped,
            reproducible=lambda r: r.spec.greedy or r.spec.seed is not None,
            decode=lambda data: self._capped(_generation_from_json(data)),
            fits=lambda request, result: (
                len(result.completions) == request.spec.n
                and all(
                    c.cut_from is None or len(c.text) == self.max_answer_chars for c in result.completions
                )
            ),
            keep_all=keep_all,
        )

    def _capped(self, result: GenerationResult) -> GenerationResult:
        if not self.max_answer_chars or all(len(c.text) <= self.max_answer_chars for c in result.completions):
            return result
        return replace(result, completions=tuple(c.capped(self.max_answer_chars) for c in result.completions))

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return self._answer(
            "loglikelihood",
            requests,
            lambda batch: self.engine.loglikelihood(batch),
            reproducible=lambda r: True,
            decode=lambda d: LoglikelihoodResult(**_StoredLoglikelihood.model_validate(d).model_dump()),
        )

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        return self._answer(
            "rolling",
            texts,
            lambda batch: self.engine.loglikelihood_rolling(batch),
            reproducible=lambda t: True,
            decode=lambda d: RollingResult(**_StoredRolling.model_validate(d).model_dump()),
        )

    def key(self, kind: str, request: object) -> str:
        payload: dict[str, Any] = {
            "fingerprint": self._fingerprint,
            "kind": kind,
            "request": _canonical(request),
        }
        version = _answer_version(kind, request)
        if version > 1:  # version 1 keys have no version, so answers stored before it stay found
            payload["version"] = version
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def _answer(
        self,
        kind: str,
        requests: Sequence[Request],
        compute: Callable[[Sequence[Request]], list[Result]],
        *,
        reproducible: Callable[[Request], bool],
        decode: Callable[[dict[str, Any]], Result],
        fits: Callable[[Request, Result], bool] = lambda request, result: True,
        keep_all: bool = False,
        prepare: Callable[[Result], Result] = lambda result: result,
    ) -> list[Result]:
        keys = [self.key(kind, r) for r in requests]
        answers: list[Result | None] = [None] * len(requests)
        missing: dict[str, list[int]] = {}  # one engine request per distinct key, even if asked twice
        for i, (request, key) in enumerate(zip(requests, keys, strict=True)):
            if key in self._memory:
                self.stats.memory_hits += 1
                answers[i] = self._memory[key] if reproducible(request) else self._memory.pop(key)
            elif (
                reproducible(request)
                and (stored := self._read(key, decode)) is not None
                and fits(request, stored)  # e.g. as many samples as the request asks for
            ):
                self.stats.disk_hits += 1
                answers[i] = self._memory[key] = stored
            else:
                # Identical unseeded samples stay separate requests: they are independent draws.
                missing.setdefault(key if reproducible(request) else f"{key}#{i}", []).append(i)
        if missing and self.broken is not None:
            raise EngineError(f"not asked: {self.broken}")  # the server gave up earlier in this run
        if missing:
            firsts = [positions[0] for positions in missing.values()]
            slots = list(missing)
            started = time.perf_counter()
            try:
                computed = [prepare(result) for result in compute([requests[i] for i in firsts])]
            except BaseException as exc:
                # What the batch finished before a request failed or Ctrl-C came is kept.
                for position, result in finished_before(exc).items():
                    key = slots[position].split("#", 1)[0]
                    if reproducible(requests[firsts[position]]):
                        self._memory[key] = prepare(result)  # type: ignore[arg-type]
                        self._write(key, self._memory[key])
                if isinstance(exc, KeyboardInterrupt):
                    # Raised afresh from here: pytest prints a Ctrl-C's traceback with every frame's
                    # arguments, and below here those are vLLM's LLM, whose repr asks the engine
                    # core that Ctrl-C stopped and waits forever, and torch tensors and models.
                    raise KeyboardInterrupt from None
                raise
            timing = Timing(time.perf_counter() - started, len(firsts))
            computed = [_timed(result, timing) for result in computed]
            self.stats.misses += len(firsts)
            self.stats.batches += 1
            for (slot, positions), result in zip(missing.items(), computed, strict=True):
                key = slot.split("#", 1)[0]
                for i in positions:
                    answers[i] = result
                if reproducible(requests[positions[0]]):
                    self._memory[key] = result
                    self._write(key, result)
                elif keep_all:
                    self._memory[key] = result
        return [a for a in answers if a is not None]

    # ----- disk -----

    @staticmethod
    def _known_info(directory: Path | None, identity: str) -> EngineInfo | None:
        path = directory / "engines" / f"{identity}.json" if directory is not None else None
        if path is None or not path.is_file():
            return None
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(recorded, dict) or not recorded.keys() >= _CAPABILITIES:
                return None  # written before engines declared what they can do: load to find out
            return EngineInfo(**recorded)
        except (OSError, ValueError, TypeError) as exc:
            warnings.warn(
                f"llmeval: ignoring unreadable {path} ({exc}); the model will be loaded",
                CacheWarning,
                stacklevel=3,
            )
            return None

    def _remember_info(self) -> None:
        if self.directory is None or self._identity is None:
            return
        path = self.directory / "engines" / f"{self._identity}.json"
        try:
            _write_atomically(path, json.dumps(asdict(self._info), sort_keys=True))
        except OSError as exc:
            self._unwritable = True
            warnings.warn(
                f"llmeval: cannot write the response cache at {path} ({exc.strerror or exc}); "
                "this run's answers are not stored",
                CacheWarning,
                stacklevel=3,
            )

    def _path(self, key: str) -> Path | None:
        return self.directory / key[:2] / f"{key}.json" if self.directory is not None else None

    def _read(self, key: str, decode: Callable[[dict[str, Any]], Result]) -> Result | None:
        """The stored answer, or None. Anything unreadable or of the wrong shape (hand-edited, cut
        short, a folder where the entry should be) is a warning, and the answer is recomputed."""
        path = self._path(key)
        if path is None or not path.exists():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(entry, dict):
                raise TypeError(f"expected an object, got {type(entry).__name__}")
            if entry.get("schema") != CACHE_SCHEMA:
                return None  # written by another version: recompute and overwrite
            return decode(entry["result"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            warnings.warn(
                f"llmeval: ignoring unreadable cache entry {path} ({type(exc).__name__}: {first[:200]}); "
                "it will be rebuilt",
                CacheWarning,
                stacklevel=2,
            )
            return None

    def _write(self, key: str, result: object) -> None:
        path = self._path(key)
        if path is None or self._unwritable:
            return
        data = asdict(result)  # type: ignore[call-overload]
        data.pop("timing", None)  # this run's speed, not part of the answer
        try:
            if path.is_dir():  # a folder where the entry should be: it goes, the entry takes its place
                shutil.rmtree(path)
            _write_atomically(path, json.dumps({"schema": CACHE_SCHEMA, "result": data}))
        except OSError as exc:
            # A cache path that is a file, a full disk, a read-only folder: the run goes on uncached.
            self._unwritable = True
            warnings.warn(
                f"llmeval: cannot write the response cache at {path} ({exc.strerror or exc}); "
                "this run's answers are not stored",
                CacheWarning,
                stacklevel=2,
            )


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _StoredCompletion(_Stored):
    text: str
    finish_reason: Literal["stop", "length"]
    completion_tokens: NonNegativeInt
    cut_from: NonNegativeInt | None = None


class _StoredGeneration(_Stored):
    completions: list[_StoredCompletion] = Field(min_length=1)
    prompt_tokens: NonNegativeInt


class _StoredLoglikelihood(_Stored):
    logprob: float
    is_greedy: bool
    num_tokens: NonNegativeInt
    truncated_tokens: NonNegativeInt = 0


class _StoredRolling(_Stored):
    logprob: float
    num_tokens: NonNegativeInt
    num_words: NonNegativeInt
    num_bytes: NonNegativeInt


# Raised when the way an engine computes a kind of answer changes, so that what an older,
# faulty computation stored is never served again (version 1 is the original key, which has no
# version). 2: transformers-backend loglikelihoods could depend on their batch mates (a token
# below a scored one could run before it in a sliced forward pass), and seeded samples are now
# drawn from a generator of each request's own instead of one shared by the batch. 3 (rolling):
# a tokenizer that adds BOS had P(BOS | BOS) scored as the text's first token. A generation with
# stop strings counts one more: transformers' stop_strings matched across the prompt's end, and
# its token count took a padding token when batched.
_ANSWER_VERSIONS = {"loglikelihood": 2, "rolling": 3, "sampled": 2}


def _answer_version(kind: str, request: object) -> int:
    if isinstance(request, GenerationRequest):
        version = 1 if request.spec.greedy else _ANSWER_VERSIONS["sampled"]
        return version + 1 if request.spec.stop else version
    return _ANSWER_VERSIONS.get(kind, 1)


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary name, then rename: readers see the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:8]}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _timed(result: Result, timing: Timing) -> Result:
    return replace(result, timing=timing) if isinstance(result, GenerationResult) else result


def _canonical(request: object) -> Any:
    if isinstance(request, str):
        return request
    return asdict(request)  # type: ignore[call-overload]


def _generation_from_json(data: dict[str, Any]) -> GenerationResult:
    stored = _StoredGeneration.model_validate(data)
    completions = tuple(Completion(**c.model_dump()) for c in stored.completions)
    return GenerationResult(completions=completions, prompt_tokens=stored.prompt_tokens)
