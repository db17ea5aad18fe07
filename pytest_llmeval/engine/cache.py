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
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from .types import (
    Completion,
    Engine,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingResult,
    Timing,
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


class CachedEngine:
    """An Engine that answers from memory, then from disk, and sends only the misses, as one batch.

    ``directory=None`` keeps the in-memory part only (``--llmeval-no-cache``). Sampled requests
    without a seed are not reproducible, so they never go to disk, and in memory each answer is
    handed out once: two unseeded draws of the same prompt stay two independent samples.
    """

    def __init__(self, engine: Engine, directory: Path | None) -> None:
        self.engine = engine
        self.directory = directory
        self.stats = CacheStats()
        self._memory: dict[str, Any] = {}
        self._fingerprint = engine.info.fingerprint()

    @property
    def info(self) -> EngineInfo:
        return self.engine.info

    def close(self) -> None:
        self.engine.close()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return self._generate(requests, keep_all=False)

    def prefetch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Generate ahead for tests that will ask later: unseeded samples are kept for them too."""
        return self._generate(requests, keep_all=True)

    def _generate(self, requests: Sequence[GenerationRequest], keep_all: bool) -> list[GenerationResult]:
        return self._answer(
            "generate",
            requests,
            self.engine.generate,
            reproducible=lambda r: r.spec.greedy or r.spec.seed is not None,
            decode=_generation_from_json,
            keep_all=keep_all,
        )

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return self._answer(
            "loglikelihood",
            requests,
            self.engine.loglikelihood,
            reproducible=lambda r: True,
            decode=lambda d: LoglikelihoodResult(**d),
        )

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        return self._answer(
            "rolling",
            texts,
            self.engine.loglikelihood_rolling,
            reproducible=lambda t: True,
            decode=lambda d: RollingResult(**d),
        )

    def key(self, kind: str, request: object) -> str:
        payload = {"fingerprint": self._fingerprint, "kind": kind, "request": _canonical(request)}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def _answer(
        self,
        kind: str,
        requests: Sequence[Request],
        compute: Callable[[Sequence[Request]], list[Result]],
        *,
        reproducible: Callable[[Request], bool],
        decode: Callable[[dict[str, Any]], Result],
        keep_all: bool = False,
    ) -> list[Result]:
        keys = [self.key(kind, r) for r in requests]
        answers: list[Result | None] = [None] * len(requests)
        missing: dict[str, list[int]] = {}  # one engine request per distinct key, even if asked twice
        for i, (request, key) in enumerate(zip(requests, keys, strict=True)):
            if key in self._memory:
                self.stats.memory_hits += 1
                answers[i] = self._memory[key] if reproducible(request) else self._memory.pop(key)
            elif reproducible(request) and (stored := self._read(key, decode)) is not None:
                self.stats.disk_hits += 1
                answers[i] = self._memory[key] = stored
            else:
                # Identical unseeded samples stay separate requests: they are independent draws.
                missing.setdefault(key if reproducible(request) else f"{key}#{i}", []).append(i)
        if missing:
            firsts = [positions[0] for positions in missing.values()]
            started = time.perf_counter()
            computed = compute([requests[i] for i in firsts])
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

    def _path(self, key: str) -> Path | None:
        return self.directory / key[:2] / f"{key}.json" if self.directory is not None else None

    def _read(self, key: str, decode: Callable[[dict[str, Any]], Result]) -> Result | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry.get("schema") != CACHE_SCHEMA:
                return None  # written by another version: recompute and overwrite
            return decode(entry["result"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            warnings.warn(
                f"llmeval: ignoring unreadable cache entry {path} ({type(exc).__name__}: {exc}); "
                "it will be rebuilt",
                CacheWarning,
                stacklevel=2,
            )
            return None

    def _write(self, key: str, result: object) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(result)  # type: ignore[call-overload]
        data.pop("timing", None)  # this run's speed, not part of the answer
        entry = {"schema": CACHE_SCHEMA, "result": data}
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:8]}-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
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
    completions = tuple(Completion(**c) for c in data["completions"])
    return GenerationResult(completions=completions, prompt_tokens=int(data["prompt_tokens"]))
