"""The openai backend: any OpenAI-compatible server (``vllm serve``, llama.cpp, TGI...).

Requests run in parallel up to a bound, each with a timeout, and are retried with backoff on
429, 5xx and connection errors; after the last attempt one error names the URL and what went
wrong. The API key is read from an environment variable into a :class:`Secret`, whose repr is
masked (a traceback with ``-l`` shows ``Secret('***')``), and every quoted error body is
redacted first: a gateway that echoes the request headers cannot put the key into the output.
A reply body is read up to a hard limit (``MAX_BODY_BYTES``, counted after decompression, which
happens here a step at a time): a runaway server or a gzip bomb cannot exhaust memory.

Loglikelihoods need a server that echoes prompt logprobs on ``/v1/completions`` (vLLM does)
and the model's tokenizer locally, so that context and continuation split at the same token
as on the other backends.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import queue
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, NonNegativeInt, ValidationError

from .constrained import checked_schema
from .model_files import default_cache_root, looks_like_path, resolve_model
from .tokens import TokenRules, rolling_loglikelihood
from .types import (
    Completion,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelLoadError,
    RollingResult,
    ServerUnavailable,
)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0  # a Retry-After longer than this is cut to it: the run must go on
MAX_BODY_BYTES = 64 * 2**20  # a reply body (decompressed) over this is an error: memory stays bounded
_INFLATE_STEP = 2**20  # a compressed body is inflated at most this many bytes at a time
_T = TypeVar("_T")
# What a key looks like in a text, besides the key itself: an echoed header, an OpenAI-style key.
_BEARER = re.compile(r"(?i)(bearer)\s+[^\s\"',;}\]]+")
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")


class Secret:
    """A string that never shows itself: repr and str are masked, so a traceback with ``-l``, a
    log line or a report cannot leak it. ``reveal()`` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


class _BearerAuth(httpx.Auth):
    """Adds the key to each request as it is sent, so no header dict of the client holds it."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(Secret('***'))"


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    content: str


class _Choice(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    text: str | None = None
    message: _Message | None = None
    finish_reason: Literal["stop", "length", "eos"]


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    prompt_tokens: NonNegativeInt = 0
    completion_tokens: NonNegativeInt = 0


class _Reply(BaseModel):
    """What a completion answer must hold before any of it is used (and so cached or recorded):
    ``"text": null`` or ``123``, a missing choice or an unknown finish reason is an error for the
    request, never an output."""

    model_config = ConfigDict(extra="ignore", strict=True)
    choices: list[_Choice]
    usage: _Usage | None = None

    def texts(self, chat: bool) -> list[tuple[str, str]]:
        """(text, finish reason) per choice; ``_checked_reply`` made sure each has its text."""
        return [
            ((c.message.content if c.message else "") if chat else (c.text or ""), c.finish_reason)
            for c in self.choices
        ]


def _checked_reply(data: object, samples: int, chat: bool, where: str) -> _Reply:
    try:
        reply = _Reply.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise EngineError(f"{where}: the answer is not a completion: {field}: {first['msg']}") from None
    missing = "message" if chat else "text"
    if any((c.message if chat else c.text) is None for c in reply.choices):
        raise EngineError(f"{where}: the answer is not a completion: a choice has no {missing}")
    if len(reply.choices) != samples:
        raise EngineError(f"{where}: asked for {samples} choice(s), the answer has {len(reply.choices)}")
    return reply


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); 0 when absent."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        seconds = moment.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S) if math.isfinite(seconds) else 0.0


def redact(text: str, key: Secret | None = None) -> str:
    """``text`` without the key, echoed ``Bearer`` tokens or ``sk-...`` keys."""
    if key:
        text = text.replace(key.reveal(), "***")
    return _KEY_LIKE.sub("sk-***", _BEARER.sub(r"\1 ***", text))


class OpenAIEngine:
    """A model behind an OpenAI-compatible HTTP API. ``transport`` lets tests swap the network."""

    def __init__(
        self,
        model: str | None,
        *,
        base_url: str,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout: float = 120.0,
        retries: int = 4,
        max_length: int | None = None,
        cache_root: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 0.5,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._key = Secret(os.environ.get(api_key_env, ""))
        self._api_key_env = api_key_env
        self._client = httpx.Client(
            base_url=self._base_url,
            auth=_BearerAuth(self._key) if self._key else None,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            # The encodings _decoded reads; httpx would also offer br and zstd when installed.
            headers={"Accept-Encoding": "gzip, deflate"},
        )
        self._concurrency = concurrency
        self._stop = threading.Event()  # set when a batch is abandoned: its other requests stop
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._max_body = max_body_bytes
        try:
            listed = self._request("GET", "/models")["data"]
            served = [entry["id"] for entry in listed]
        except EngineError as exc:
            self._client.close()
            raise ModelLoadError(f"cannot use the server: {exc}") from exc
        self._model: str
        if model in served:
            self._model = str(model)
        elif len(served) == 1:
            self._model = served[0]  # e.g. a local path given to the plugin, served under another name
        else:
            raise ModelLoadError(f"{self._base_url} serves {served}; pick one with --llmeval-model")
        # vLLM's server fills every sampling field a request leaves out from the model's
        # generation_config.json (Qwen2.5: repetition_penalty 1.05, top_k 20), which changes even
        # greedy answers: the neutral values are sent, so the spec alone decides, as on the other
        # backends. (OpenAI's own API refuses these fields, so only a vLLM server gets them.)
        owners = {entry.get("owned_by") for entry in listed if isinstance(entry, dict)}
        self._neutral: dict[str, Any] = _VLLM_NEUTRAL if "vllm" in owners else {}
        local = _local_model(model, cache_root or default_cache_root())
        self.rules = local[0] if local is not None else None
        self._max_length = max_length or 0
        tokenizer_hash, template_hash = self.rules.fingerprint() if self.rules else ("", "")
        # The server cannot say which weights it loaded; the files named as the ones it runs can,
        # so a new checkpoint served under the old name gets no cached answers of the old one.
        weights = f"server:{self._base_url}/{self._model}" + (f"|{local[1]}" if local is not None else "")
        self._info = EngineInfo(
            backend="openai",
            model=self._model,
            weights_hash=weights,
            dtype="server",
            device=self._base_url,
            tokenizer_hash=tokenizer_hash,
            chat_template_hash=template_hash,
            max_length=self._max_length,
            versions={"httpx": httpx.__version__},
            structured_output=True,
            # loglikelihood needs the model's tokenizer here (_need_rules) and a server that
            # echoes prompt logprobs; only the first is known before a request is sent.
            logprobs=self.rules is not None,
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    def close(self) -> None:
        self._client.close()

    # ----- HTTP -----

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call with retries; returns the decoded JSON or raises one clear EngineError.

        Each attempt is bounded as a whole by the timeout, not read by read: a server that drips
        a byte at a time is cut off. A 429 or 503 with ``Retry-After`` is retried after that
        long (at most ``MAX_RETRY_AFTER_S``), other retries back off exponentially. A body over
        the size limit is an error at once: the same server would send it again.
        """
        url = f"{self._base_url}{path}"
        last, wait = "", 0.0
        for attempt in range(self._retries + 1):
            delay = (wait or min(self._backoff * 2 ** (attempt - 1), 10.0)) if attempt else 0.0
            if self._stop.wait(delay) if delay else self._stop.is_set():  # waits, unless stopped
                raise EngineError(f"{method} {url}: stopped: another request of the batch failed")
            try:
                status, headers, content = self._send(method, path, body)
            except _TooLarge:
                raise EngineError(
                    f"{method} {url}: reply body over {_size(self._max_body)}, refused"
                ) from None
            except httpx.TimeoutException:
                last, wait = f"timed out after {self._timeout:g} s", 0.0
                continue
            except httpx.TransportError as exc:
                last, wait = f"connection failed ({type(exc).__name__})", 0.0
                continue
            except httpx.DecodingError as exc:  # a gzip or deflate body that does not inflate
                raise EngineError(f"{method} {url}: the answer's body cannot be decoded ({exc})") from None
            if status in _RETRY_STATUS:
                last, wait = f"HTTP {status}", _retry_after(headers.get("retry-after"))
                continue
            text = content.decode("utf-8", errors="replace")
            if status in (401, 403):  # every later request would be refused too: stop the run's asking
                raise ServerUnavailable(
                    f"{method} {url}: HTTP {status}, the server rejected the API key "
                    f"(read from ${self._api_key_env})"
                )
            if status >= 400:
                quoted = redact(text, self._key)[:300]
                raise EngineError(f"{method} {url}: HTTP {status}: {quoted}")
            try:
                return json.loads(content)
            except (json.JSONDecodeError, UnicodeDecodeError):
                quoted = redact(text, self._key)[:200]
                raise EngineError(f"{method} {url}: the answer is not JSON: {quoted!r}") from None
        raise ServerUnavailable(f"{method} {url}: gave up after {self._retries + 1} attempts, last: {last}")

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, httpx.Headers, bytes]:
        """One attempt, its body read in chunks against a deadline for the whole request and
        against the size limit (a declared Content-Length over it is refused unread)."""
        deadline = time.monotonic() + self._timeout
        with self._client.stream(method, path, json=body) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_body:
                raise _TooLarge
            chunks, size = [], 0
            for chunk in _decoded(response):
                size += len(chunk)
                if size > self._max_body:
                    raise _TooLarge
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the whole answer took longer than the timeout")
            return response.status_code, response.headers, b"".join(chunks)

    def _parallel(self, work: Callable[[Any], _T], items: Sequence[Any]) -> list[_T]:
        """``[work(item) for item in items]``, up to ``concurrency`` at a time.

        The workers are daemon threads: on Ctrl-C the main thread stops waiting at once and the
        process can exit within a second, where a thread pool would be joined at exit and wait
        for every request in flight (and its retries). The first request that fails for good
        stops the others (no new attempt starts) and its error is raised.
        """
        self._stop.clear()
        if len(items) <= 1:
            return [work(item) for item in items]
        results: list[Any] = [None] * len(items)
        done = [False] * len(items)
        pending: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(len(items)):
            pending.put(index)
        failures: list[BaseException] = []

        def serve() -> None:
            while not self._stop.is_set():
                try:
                    index = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[index] = work(items[index])
                    done[index] = True
                except BaseException as exc:  # handed to the caller below
                    failures.append(exc)  # list.append is atomic: the first one is the cause
                    self._stop.set()

        count = min(self._concurrency, len(items))
        workers = [threading.Thread(target=serve, daemon=True) for _ in range(count)]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        except BaseException as exc:  # Ctrl-C: the workers stop at their next attempt; nobody waits for them
            self._stop.set()
            exc.llmeval_finished = {i: r for i, r in enumerate(results) if done[i]}  # type: ignore[attr-defined]
            raise
        if failures:
            failures[0].llmeval_finished = {i: r for i, r in enumerate(results) if done[i]}  # type: ignore[attr-defined]
            raise failures[0]
        return results

    # ----- generation -----

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return self._parallel(self._generate_one, requests)

    def _generate_one(self, request: GenerationRequest) -> GenerationResult:
        spec = request.spec
        body: dict[str, Any] = {
            "model": self._model,
            "max_tokens": spec.max_tokens,
            "temperature": spec.temperature,
            "top_p": spec.top_p,
            "n": spec.n,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,
            **self._neutral,
        }
        if spec.seed is not None:
            body["seed"] = spec.seed
        if spec.stop:
            body["stop"] = list(spec.stop)
        if spec.json_schema:
            schema = json.loads(checked_schema(spec.json_schema))
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema},
            }
        chat = request.messages is not None
        if request.messages is not None:
            body["messages"] = [dict(m) for m in request.messages]
        else:
            body["prompt"] = request.prompt
        path = "/chat/completions" if chat else "/completions"
        where = f"POST {self._base_url}{path}"  # as the request's other errors name it
        answer = _checked_reply(self._request("POST", path, body), spec.n, chat, where)
        usage = answer.usage or _Usage()
        completions = tuple(
            Completion(
                text=text,
                finish_reason="length" if finish == "length" else "stop",
                completion_tokens=self._count_tokens(text, usage, spec.n),
            )
            for text, finish in answer.texts(chat)
        )
        return GenerationResult(completions, prompt_tokens=usage.prompt_tokens)

    def _count_tokens(self, text: str, usage: _Usage, samples: int) -> int:
        # The API reports one total for all samples; per sample, count with the local tokenizer.
        if samples == 1 or self.rules is None:
            return usage.completion_tokens // samples
        return len(self.rules.tokenizer.encode(text, add_special_tokens=False))

    # ----- loglikelihood -----

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        rules = self._need_rules()
        return self.loglikelihood_tokens([rules.encode_pair(r.context, r.continuation) for r in requests])

    def loglikelihood_tokens(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[LoglikelihoodResult]:
        for _, continuation in pairs:
            if not continuation:
                raise EngineError("a continuation encodes to zero tokens, so there is nothing to score")
        return self._parallel(self._score_one, pairs)

    def _score_one(self, pair: tuple[list[int], list[int]]) -> LoglikelihoodResult:
        context, continuation = pair
        body = {
            "model": self._model,
            "prompt": context + continuation,  # token ids, so the split is exactly ours
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }
        try:
            logprobs = self._request("POST", "/completions", body)["choices"][0]["logprobs"]
            token_logprobs = logprobs["token_logprobs"]
            top = logprobs["top_logprobs"]
        except (KeyError, TypeError, IndexError) as exc:
            raise EngineError(
                f"{self._base_url} does not return prompt logprobs (echo + logprobs on /v1/completions), "
                "so loglikelihood is not supported by this server"
            ) from exc
        positions = range(len(context), len(context) + len(continuation))
        picked = [float(token_logprobs[i]) for i in positions]
        greedy = all(picked[k] >= max(top[i].values()) - 1e-6 for k, i in enumerate(positions))
        return LoglikelihoodResult(sum(picked), greedy, len(continuation))

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        if not self._max_length:
            raise EngineError("perplexity through the openai backend needs --llmeval-max-length")
        return rolling_loglikelihood(
            self._need_rules(), texts, self._max_length - 1, self.loglikelihood_tokens
        )

    def _need_rules(self) -> TokenRules:
        if self.rules is None:
            raise EngineError(
                "loglikelihood through the openai backend needs the model's tokenizer on this machine: "
                "set --llmeval-model to the local model folder or .gguf file the server runs"
            )
        return self.rules


class _TooLarge(Exception):
    """A reply body over the size limit (turned into an EngineError that names the URL)."""


def _size(limit: int) -> str:
    return f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit} bytes"


def _decoded(response: httpx.Response) -> Iterator[bytes]:
    """The response body, decompressed here rather than by httpx, which inflates each network
    read in one go (a 64 KB read of a gzip bomb is 64 MB). Inflating ``_INFLATE_STEP`` at a time
    lets the caller's size limit stop a bomb before it is in memory. gzip and deflate only (what
    the client offers); anything else is a DecodingError."""
    if response.is_stream_consumed:  # read already (a test's MockTransport): httpx has decoded it
        yield response.content
        return
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c not in ("", "identity")]
    if not codings:
        yield from response.iter_raw()
        return
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise httpx.DecodingError(f"unsupported Content-Encoding {', '.join(codings)!r}")
    raw_deflate = False  # "deflate" should carry a zlib header, but some servers send raw deflate
    inflater = zlib.decompressobj(zlib.MAX_WBITS | (16 if codings[0] != "deflate" else 0))
    started = False
    for data in response.iter_raw():
        while data:  # each pass inflates up to a step, or takes in all of data: it ends
            try:
                out = inflater.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                if codings[0] != "deflate" or started or raw_deflate:
                    raise httpx.DecodingError(str(exc)) from None
                raw_deflate, inflater = True, zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            started = True
            data = inflater.unconsumed_tail
            if out:
                yield out
    if not inflater.eof:  # zlib has handed out all it inflated; the stream's end is missing
        raise httpx.DecodingError("the compressed body is cut short")


_VLLM_NEUTRAL: dict[str, Any] = {"repetition_penalty": 1.0, "top_k": -1, "min_p": 0.0}


def _local_model(model: str | None, cache_root: Path) -> tuple[TokenRules, str] | None:
    """The served model's tokenizer and weights hash, when ``model`` names local files; None if
    it does not."""
    if not model or not looks_like_path(model) or not Path(model).expanduser().exists():
        return None
    from transformers import AutoTokenizer

    source = resolve_model(model, cache_root)
    return TokenRules(AutoTokenizer.from_pretrained(source.load_path)), source.weights_hash
