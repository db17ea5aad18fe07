"""The openai backend against real HTTP: a scripted stub server for failures, and a real vLLM server."""

from __future__ import annotations

import email.utils
import json
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_llmeval.engine.openai import OpenAIEngine
from pytest_llmeval.engine.transformers import TransformersEngine
from pytest_llmeval.engine.types import (
    EngineError,
    GenerationRequest,
    GenerationResult,
    GenerationSpec,
    LoglikelihoodRequest,
    ModelLoadError,
    finished_before,
)

from ..helpers import QA_PROMPTS as PROMPTS
from ..helpers import VLLM_SERVE_KEY, VLLM_SERVE_KEY_ENV, Served, bbh_requests

COMPLETION = {
    "choices": [{"text": "hello", "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}


class StubServer:
    """A real HTTP server on loopback that answers /v1/completions by a script: one step per request."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.seen = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self.reply(200, {"data": [{"id": "stub-model"}]})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with stub.lock:
                    step = stub.script.pop(0) if stub.script else "ok"
                    stub.seen += 1
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                counted = True
                try:
                    if step == "drip":  # headers at once, then one byte every 0.2 s
                        self.send_response(200)
                        self.send_header("Content-Length", "100")
                        self.end_headers()
                        for _ in range(100):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.2)
                        return
                    if step.startswith("retry-after-"):
                        data = b'{"error": "busy"}'
                        self.send_response(503)
                        self.send_header("Retry-After", step.removeprefix("retry-after-"))
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    if step == "hang":  # longer than any test waits; ends when the client goes
                        for _ in range(300):
                            time.sleep(0.1)
                            self.wfile.write(b"")
                    if step == "slow":
                        time.sleep(1.0)
                    if step == "key" and self.headers.get("Authorization") != "Bearer right-key":
                        self.reply(401, {"error": "invalid api key"})
                    elif step.isdigit():
                        self.reply(int(step), {"error": step})
                    elif step == "no-logprobs":
                        self.reply(200, {"choices": [{"text": "", "logprobs": None}]})
                    else:
                        time.sleep(0.05 if step == "busy" else 0)
                        # Out of flight before the answer goes: the client may send its next
                        # request the moment it has this one, before this thread runs again.
                        with stub.lock:
                            stub.in_flight -= 1
                        counted = False
                        self.reply(200, COMPLETION)
                finally:
                    if counted:
                        with stub.lock:
                            stub.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    yield server
    server.stop()


def engine_for(url: str, **kwargs: Any) -> OpenAIEngine:
    model = kwargs.pop("model", None)
    options: dict[str, Any] = {"base_url": url, "retries": 2, "timeout": 5.0, "backoff": 0.01}
    return OpenAIEngine(model, **{**options, **kwargs})


def ask(engine: OpenAIEngine, n: int = 1) -> list[str]:
    return [r.text for r in engine.generate([GenerationRequest(prompt="hi")] * n)]


def test_429_and_503_are_retried(stub: StubServer) -> None:
    stub.script = ["429", "503", "ok"]
    assert ask(engine_for(stub.url)) == ["hello"]
    assert stub.seen == 3


def test_gives_up_with_one_error_naming_the_url(stub: StubServer) -> None:
    stub.script = ["503"] * 3
    with pytest.raises(
        EngineError, match=rf"POST {stub.url}/completions: gave up after 3 attempts, last: HTTP 503"
    ):
        ask(engine_for(stub.url))


def test_a_slow_answer_times_out_and_is_retried(stub: StubServer) -> None:
    stub.script = ["slow", "ok"]
    assert ask(engine_for(stub.url, timeout=0.3)) == ["hello"]
    stub.script = ["slow"] * 3
    with pytest.raises(EngineError, match="gave up after 3 attempts, last: timed out"):
        ask(engine_for(stub.url, timeout=0.3))


def test_the_timeout_bounds_the_whole_request_not_each_read(stub: StubServer) -> None:
    """A server that drips a byte every 0.2 s never trips a per-read timeout of 0.6 s; issue 17
    saw such a server hold each try for 41 s."""
    stub.script = ["drip"] * 3
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"gave up after 3 attempts, last: timed out after 0.6 s"):
        ask(engine_for(stub.url, timeout=0.6))
    assert time.monotonic() - started < 6.0


def test_retry_after_is_honoured_with_a_cap(stub: StubServer) -> None:
    from pytest_llmeval.engine.openai import MAX_RETRY_AFTER_S, _retry_after

    stub.script = ["retry-after-1", "ok"]
    started = time.monotonic()
    assert ask(engine_for(stub.url)) == ["hello"]  # the engine's own backoff is 0.01 s here
    assert time.monotonic() - started >= 0.95
    assert _retry_after("3600") == MAX_RETRY_AFTER_S and _retry_after("-5") == 0.0
    assert _retry_after("soon") == 0.0 and _retry_after(None) == 0.0
    assert 0.0 < _retry_after(email.utils.formatdate(time.time() + 5, usegmt=True)) <= 5.0


def test_ctrl_c_during_a_batch_exits_within_two_seconds(stub: StubServer, tmp_path: Path) -> None:
    """Every request hangs on the server; SIGINT must not wait for them (or their retries)."""
    stub.script = ["hang"] * 40
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "from pytest_llmeval.engine.openai import OpenAIEngine\n"
        "from pytest_llmeval.engine.types import GenerationRequest\n"
        f"engine = OpenAIEngine(None, base_url={stub.url!r}, timeout=60.0, concurrency=8)\n"
        "print('asking', flush=True)\n"
        "engine.generate([GenerationRequest(prompt=f'q{i}') for i in range(16)])\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"asking\n"
        deadline = time.monotonic() + 30
        while stub.in_flight < 8:  # the batch is in flight
            assert time.monotonic() < deadline
            time.sleep(0.05)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0 and elapsed < 2.0, elapsed


def test_wrong_api_key_is_reported_without_the_key(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_KEY", "wrong-secret-123")
    stub.script = ["key"]
    with pytest.raises(
        EngineError, match=r"HTTP 401, the server rejected the API key \(read from \$STUB_KEY\)"
    ) as info:
        ask(engine_for(stub.url, api_key_env="STUB_KEY"))
    assert "wrong-secret-123" not in str(info.value)
    monkeypatch.setenv("STUB_KEY", "right-key")
    stub.script = ["key"]
    assert ask(engine_for(stub.url, api_key_env="STUB_KEY")) == ["hello"]


def test_concurrency_is_bounded(stub: StubServer) -> None:
    stub.script = ["busy"] * 12
    assert ask(engine_for(stub.url, concurrency=3), n=12) == ["hello"] * 12
    assert 1 < stub.max_in_flight <= 3


def test_a_dead_server_is_retried_then_reported(stub: StubServer) -> None:
    engine = engine_for(stub.url)
    stub.stop()
    started = time.monotonic()
    with pytest.raises(EngineError, match="gave up after 3 attempts, last: connection failed"):
        ask(engine)
    assert time.monotonic() - started < 5


def test_no_server_at_all_is_a_load_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(
            ModelLoadError, match=rf"cannot use the server: GET http://127.0.0.1:{port}/v1/models"
        ):
            engine_for(f"http://127.0.0.1:{port}/v1")


def test_loglikelihood_needs_a_server_with_prompt_logprobs(stub: StubServer, tiny_model_dir: Path) -> None:
    engine = engine_for(stub.url, model=str(tiny_model_dir))
    stub.script = ["no-logprobs"]
    with pytest.raises(EngineError, match=r"does not return prompt logprobs .* not supported by this server"):
        engine.loglikelihood([LoglikelihoodRequest("a", " b")])
    without_tokenizer = engine_for(stub.url)
    with pytest.raises(EngineError, match="needs the model's tokenizer on this machine"):
        without_tokenizer.loglikelihood([LoglikelihoodRequest("a", " b")])


def test_the_key_is_not_in_a_traceback_with_locals(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``pytest -l`` prints: every frame's locals. An engine that fails during its setup
    must not show the key there (issue 17 saw ``key = 'sk-...'`` and the headers dict)."""
    import traceback

    key = "sk-" + secrets.token_hex(16)
    monkeypatch.setenv("STUB_KEY", key)

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {key}"  # it is still sent
        return httpx.Response(200, json={"data": [{"id": "a"}, {"id": "b"}]})

    with pytest.raises(ModelLoadError) as info:
        engine_for("http://test/v1", api_key_env="STUB_KEY", transport=httpx.MockTransport(answer))
    stack = traceback.TracebackException.from_exception(info.value, capture_locals=True).stack
    engine_frames = [frame for frame in stack if "pytest_llmeval" in frame.filename]  # not this test's
    shown = "\n".join(
        f"{name} = {value}" for frame in engine_frames for name, value in (frame.locals or {}).items()
    )
    assert "api_key_env = 'STUB_KEY'" in shown  # the engine's own frame, with its locals
    assert key not in shown and key[3:] not in shown


def test_an_error_body_that_echoes_the_key_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-" + secrets.token_hex(16)
    monkeypatch.setenv("STUB_KEY", key)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m"}]})
        echoed = {k: v for k, v in request.headers.items()}
        return httpx.Response(
            400, json={"error": "bad request", "headers": echoed, "other": "sk-abcdef123456"}
        )

    engine = engine_for("http://test/v1", api_key_env="STUB_KEY", transport=httpx.MockTransport(answer))
    with pytest.raises(EngineError) as info:
        ask(engine)
    message = str(info.value)
    assert "HTTP 400" in message and "bad request" in message
    assert key not in message and key[3:] not in message and "sk-abcdef" not in message
    assert "Bearer ***" in message


def scripted(reply: object) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m"}]})
        return httpx.Response(200, json=reply)

    return httpx.MockTransport(answer)


def choice(**fields: object) -> dict[str, object]:
    return {"text": "hi", "finish_reason": "stop", **fields}


@pytest.mark.parametrize(
    ("reply", "samples", "message"),
    [
        ({"choices": [choice(text=None)]}, 1, "a choice has no text"),
        ({"choices": [choice(text=123)]}, 1, "choices.0.text: Input should be a valid string"),
        ({"choices": []}, 1, "asked for 1 choice(s), the answer has 0"),
        ({"choices": [choice()]}, 3, "asked for 3 choice(s), the answer has 1"),
        ({"choices": [choice()] * 6}, 3, "asked for 3 choice(s), the answer has 6"),
        ({"choices": [choice(finish_reason="abort")]}, 1, "choices.0.finish_reason: Input should be"),
        ({"choices": [choice(finish_reason=None)]}, 1, "choices.0.finish_reason"),
        ({"choices": [choice()], "usage": {"prompt_tokens": "3"}}, 1, "usage.prompt_tokens"),
        ([choice()], 1, "the answer is not a completion: (top level)"),
        ({"error": {"message": "overloaded"}}, 1, "choices: Field required"),
    ],
)
def test_a_malformed_answer_is_an_error_never_an_output(reply: object, samples: int, message: str) -> None:
    engine = engine_for("http://test/v1", transport=scripted(reply))
    spec = GenerationSpec(n=samples, temperature=1.0 if samples > 1 else 0.0, seed=0 if samples > 1 else None)
    with pytest.raises(EngineError) as info:
        engine.generate([GenerationRequest(prompt="hi", spec=spec)])
    assert message in str(info.value)
    assert str(info.value).startswith("POST http://test/v1/completions: ")  # like the request's other errors


def test_a_null_usage_is_no_error() -> None:
    engine = engine_for("http://test/v1", transport=scripted({"choices": [choice()], "usage": None}))
    [result] = engine.generate([GenerationRequest(prompt="hi")])
    assert result.text == "hi" and result.prompt_tokens == 0


class Chunks(httpx.SyncByteStream):
    """A body httpx has not read yet (unlike ``Response(content=...)``), sent in pieces."""

    def __init__(self, data: bytes, size: int = 65536) -> None:
        self.pieces = [data[i : i + size] for i in range(0, len(data), size)]
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.sent += 1
            yield piece


def streamed(body: Chunks, headers: dict[str, str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m"}]})
        assert request.headers["Accept-Encoding"] == "gzip, deflate"  # what _decoded reads
        return httpx.Response(200, headers=headers, stream=body)

    return httpx.MockTransport(answer)


def test_a_reply_body_over_the_limit_is_refused() -> None:
    from pytest_llmeval.engine.openai import MAX_BODY_BYTES

    assert MAX_BODY_BYTES == 64 * 2**20
    big = Chunks(json.dumps(COMPLETION).encode() + b" " * 5000, size=1000)
    engine = engine_for("http://test/v1", transport=streamed(big, {}), max_body_bytes=4096)
    with pytest.raises(EngineError, match=r"POST http://test/v1/completions: reply body over 4096 bytes"):
        ask(engine)
    assert big.sent == 5  # read up to the limit, not to the end; and not retried
    declared = Chunks(b"x" * 5000)
    engine = engine_for(
        "http://test/v1", transport=streamed(declared, {"Content-Length": "5000"}), max_body_bytes=4096
    )
    with pytest.raises(EngineError, match="reply body over 4096 bytes"):
        ask(engine)
    assert declared.sent == 0  # a Content-Length over the limit: refused unread


def test_a_gzip_bomb_is_stopped_at_the_limit_not_inflated() -> None:
    """The limit counts decompressed bytes, and they are inflated a step at a time: 50 MB of
    zeros gzipped to 50 KB (one network read) never reaches memory whole."""
    import gzip
    import tracemalloc

    bomb = Chunks(gzip.compress(bytes(50 * 2**20), compresslevel=1), size=2**20)
    transport = streamed(bomb, {"Content-Encoding": "gzip"})
    engine = engine_for("http://test/v1", transport=transport, max_body_bytes=2**20)
    tracemalloc.start()
    try:
        with pytest.raises(EngineError, match="reply body over 1 MB, refused"):
            ask(engine)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak


def _deflated(data: bytes, wbits: int) -> bytes:
    squeeze = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return squeeze.compress(data) + squeeze.flush()


BODY = json.dumps(COMPLETION).encode()


@pytest.mark.parametrize(
    ("encoding", "data", "message"),
    [
        ("gzip", _deflated(BODY, 16 + zlib.MAX_WBITS), None),
        ("deflate", _deflated(BODY, zlib.MAX_WBITS), None),
        ("deflate", _deflated(BODY, -zlib.MAX_WBITS), None),  # raw deflate, as some servers send
        ("identity", BODY, None),
        ("gzip", _deflated(BODY, 16 + zlib.MAX_WBITS)[:-20], "the compressed body is cut short"),
        ("gzip", b"\x1f\x8b\x08\x00" + b"garbage" * 20, "cannot be decoded"),
        ("br", BODY, "unsupported Content-Encoding 'br'"),
        ("gzip, gzip", BODY, "unsupported Content-Encoding 'gzip, gzip'"),
    ],
)
def test_compressed_bodies(encoding: str, data: bytes, message: str | None) -> None:
    engine = engine_for(
        "http://test/v1", transport=streamed(Chunks(data, size=7), {"Content-Encoding": encoding})
    )
    if message is None:
        assert ask(engine) == ["hello"]
        return
    with pytest.raises(EngineError, match=message):
        ask(engine)


def test_transport_can_be_swapped() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m"}]})
        assert json.loads(request.content)["model"] == "m"
        return httpx.Response(200, json=COMPLETION)

    engine = engine_for("http://test/v1", transport=httpx.MockTransport(answer))
    assert ask(engine) == ["hello"]


# ----- a real `vllm serve` of SmolLM2 -----


@pytest.fixture
def server_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The shared server's key, in the variable the engine reads it from."""
    monkeypatch.setenv(VLLM_SERVE_KEY_ENV, VLLM_SERVE_KEY)
    return VLLM_SERVE_KEY_ENV


@pytest.mark.slow
def test_real_server_matches_the_transformers_backend(
    vllm_serve: Callable[[], Served],
    server_key: str,
    smollm2: TransformersEngine,
    smollm2_folder: Path,
) -> None:
    url = vllm_serve().url
    engine = OpenAIEngine(str(smollm2_folder), base_url=url, concurrency=8, api_key_env=server_key)
    spec = GenerationSpec(max_tokens=16)
    requests = [GenerationRequest(prompt=p, spec=spec) for p in PROMPTS]
    same = sum(
        a.text == b.text for a, b in zip(engine.generate(requests), smollm2.generate(requests), strict=True)
    )
    assert same >= 0.9 * len(PROMPTS), f"{same}/{len(PROMPTS)}"
    question = ({"role": "user", "content": "What is the capital of France? Answer in one word."},)
    assert "Paris" in engine.generate([GenerationRequest(messages=question, spec=spec)])[0].text
    scored = bbh_requests(per_task=2)
    ours = engine.loglikelihood(scored)
    reference = smollm2.loglikelihood(scored)
    worst = max(abs(a.logprob - b.logprob) for a, b in zip(ours, reference, strict=True))
    print(
        f"openai backend on vllm serve vs transformers: {same}/{len(PROMPTS)} texts, max |diff| {worst:.2e}"
    )
    assert worst < 1e-3
    assert [a.is_greedy for a in ours] == [b.is_greedy for b in reference]


@pytest.mark.slow
def test_real_server_refuses_a_wrong_key_and_the_error_hides_it(
    vllm_serve: Callable[[], Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = vllm_serve().url
    monkeypatch.setenv("WRONG_KEY", "not-the-key-4242")
    started = time.monotonic()
    # The engine asks the server for its models when it starts, so the key is checked up front.
    with pytest.raises(
        ModelLoadError, match=r"HTTP 401, the server rejected the API key \(read from \$WRONG_KEY\)"
    ) as info:
        OpenAIEngine(None, base_url=url, api_key_env="WRONG_KEY", retries=3, backoff=5.0)
    assert "not-the-key-4242" not in str(info.value) and url in str(info.value)
    assert time.monotonic() - started < 5  # a 401 is not retried: another try cannot fix the key


def test_a_failed_batch_hands_over_the_answers_it_finished(stub: StubServer) -> None:
    engine = engine_for(stub.url, concurrency=1)  # one at a time: the script's order is the batch's
    stub.script = ["ok", "ok", "400", "ok"]  # the third request is rejected; the fourth never starts
    with pytest.raises(EngineError, match="HTTP 400") as raised:
        engine.generate([GenerationRequest(prompt=f"p{i}") for i in range(4)])
    finished = finished_before(raised.value)
    assert sorted(finished) == [0, 1]
    assert all(isinstance(r, GenerationResult) and r.text for r in finished.values())


def test_the_local_files_named_for_the_server_are_in_its_fingerprint(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Two checkpoints served under one name: the server cannot say which it loaded, but the files
    --llmeval-model names as the ones it runs can, so their weights tell the two apart (once both
    had one fingerprint, and the new checkpoint got the old one's cached answers)."""
    import shutil

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"object": "list", "data": [{"id": "finetune"}]})

    other = tmp_path / "ckpt-1400"
    shutil.copytree(tiny_model_dir, other)
    weights = next(other.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x00\x00\x00\x40")  # a norm weight: 1.0 -> 2.0
    infos = [
        OpenAIEngine(
            str(folder),
            base_url="http://server/v1",
            transport=httpx.MockTransport(answer),
            cache_root=tmp_path,
        ).info
        for folder in (tiny_model_dir, other)
    ]
    assert infos[0].model == infos[1].model == "finetune"
    assert infos[0].fingerprint() != infos[1].fingerprint()
    assert infos[0].weights_hash.startswith("server:http://server/v1/finetune|")


@pytest.mark.parametrize(("owner", "neutral"), [("vllm", True), ("openai", False), (None, False)])
def test_a_vllm_server_gets_the_neutral_sampling_values(owner: str | None, neutral: bool) -> None:
    """vLLM's server fills what a request leaves out from the model's generation_config.json
    (repetition_penalty 1.05 and top_k 20 changed 3 of 7 greedy SmolLM2 answers): it gets the
    neutral values, which OpenAI's own API would refuse, so other servers do not."""
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m", "owned_by": owner}]})
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [choice()]})

    engine = engine_for("http://test/v1", transport=httpx.MockTransport(answer))
    engine.generate([GenerationRequest(prompt="hi")])
    assert bodies[0]["presence_penalty"] == bodies[0]["frequency_penalty"] == 0.0
    sent = {k: bodies[0].get(k) for k in ("repetition_penalty", "top_k", "min_p")}
    assert sent == (
        {"repetition_penalty": 1.0, "top_k": -1, "min_p": 0.0} if neutral else dict.fromkeys(sent)
    )
