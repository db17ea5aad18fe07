"""A fault-injecting OpenAI-compatible server for tests (issue 17, "When things go wrong").

Standard library only: a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port), served from a
daemon thread. ``GET /v1/models`` lists one model; ``POST /v1/completions`` and
``/v1/chat/completions`` answer as ``mode`` says (switchable while it runs, e.g. to "ok" to show
that a rerun recovers). Every loop is bounded in count and time, and a handler that waits
(hang, drip) stops as soon as the server is stopped. The server records what it received, so
tests can assert on request counts, headers and timing.

Which case a request belongs to is read from its prompt: the test suites ask ``question <i>``,
and a few modes answer case ``i`` differently (e.g. ``"text": null`` for one, ``123`` for another).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fault-model"
HANG_S = 20.0  # a hanging handler gives up after this long (or when the server stops)
DRIP_BYTES = 40  # a drip sends at most this many bytes...
DRIP_EVERY_S = 0.5  # ...one every this many seconds
HUGE_BYTES = 5 * 1024 * 1024  # huge_body: a 5 MB text, under the backend's limit, so it must work
BOMB_BYTES = 100 * 1024 * 1024  # gzip_bomb: inflates to this, over the backend's 64 MB limit
RETRY_AFTER_S = 1


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float  # time.monotonic() when its body had been read

    @property
    def prompt(self) -> str:
        body = self.body or {}
        if "messages" in body:
            return " ".join(str(m.get("content", "")) for m in body["messages"])
        return str(body.get("prompt", ""))

    @property
    def case(self) -> int:
        """``i`` of the ``question <i>`` the prompt asks; 0 if it asks none."""
        found = re.search(r"question (\d+)", self.prompt)
        return int(found.group(1)) if found else 0


def _choices(request: Received, texts: list[Any]) -> dict[str, Any]:
    chat = request.path.endswith("/chat/completions")
    choices = [
        {"index": i, "finish_reason": "stop", **({"message": {"content": t}} if chat else {"text": t})}
        for i, t in enumerate(texts)
    ]
    return {"choices": choices, "usage": {"prompt_tokens": 3, "completion_tokens": len(texts)}}


def _samples(request: Received) -> int:
    n = (request.body or {}).get("n", 1)
    return n if isinstance(n, int) and 0 < n <= 16 else 1


def completion(request: Received, count: int | None = None) -> dict[str, Any]:
    """A correct answer: ``hello <case> <sample>`` per choice, as many as asked (or ``count``)."""
    n = _samples(request) if count is None else count
    return _choices(request, [f"hello {request.case} {i}" for i in range(n)])


def _bomb() -> bytes:
    """BOMB_BYTES of zeros gzipped to about 100 KB; built once per process (about 1 s)."""
    global _BOMB
    if _BOMB is None:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(1024 * 1024)
        _BOMB = b"".join(squeeze.compress(block) for _ in range(BOMB_BYTES // len(block))) + squeeze.flush()
    return _BOMB


_BOMB: bytes | None = None


class FaultServer:
    """The server; ``mode`` may be changed at any time and applies to the next POST."""

    def __init__(self, mode: str = "ok", *, port: int = 0, model: str = MODEL) -> None:
        self.mode = mode
        self.model = model  # the one model GET /v1/models lists
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # ends every wait of a hanging or dripping handler
        self._refused: set[str] = set()  # 429: prompts already refused once
        self.http = _HTTPServer(self, port)
        self.url = f"http://127.0.0.1:{self.http.server_port}/v1"
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self._thread.start()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "mode" and value not in MODES:
            raise ValueError(f"unknown mode {value!r}; known: {', '.join(MODES)}")
        if name == "mode" and value == "gzip_bomb":
            _bomb()  # built now, not while a client waits (with a 1 s timeout) for its answer
        super().__setattr__(name, value)

    @property
    def posts(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == "POST"]

    def stop(self) -> None:
        self.stopping.set()
        self.http.shutdown()
        self.http.server_close()
        self._thread.join(timeout=5)

    def first_try(self, prompt: str) -> bool:
        """True the first time ``prompt`` is seen (429 mode refuses it once, then answers)."""
        with self.lock:
            fresh = prompt not in self._refused
            self._refused.add(prompt)
            return fresh


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, faults: FaultServer, port: int) -> None:
        self.faults = faults
        super().__init__(("127.0.0.1", port), _Handler)  # SO_REUSEADDR is on: a dead server's port

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer (timeouts, resets) is what these tests are about


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    timeout = 30  # an idle kept-alive connection is closed after this long: no thread waits forever
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test's output is the plugin's

    def _receive(self, method: str) -> Received:
        length = min(int(self.headers.get("Content-Length") or 0), 1024 * 1024)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = Received(
            method,
            self.path,
            dict(self.headers.items()),
            body if isinstance(body, dict) else None,
            time.monotonic(),
        )
        with self.server.faults.lock:
            self.server.faults.received.append(request)
        return request

    def send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(body).encode(), headers)

    def do_GET(self) -> None:
        self._receive("GET")
        if self.path.rstrip("/").endswith("/models"):
            listed = {"id": self.server.faults.model, "object": "model"}
            self.send_json(200, {"object": "list", "data": [listed]})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        request = self._receive("POST")
        if not self.path.endswith(("/completions", "/chat/completions")):
            self.send_json(404, {"error": "not found"})
            return
        ANSWERS[self.server.faults.mode](self, request)


# ----- what each mode answers to a POST -----

Answer = Callable[[_Handler, Received], None]


def _ok(h: _Handler, r: Received) -> None:
    h.send_json(200, completion(r))


def _too_many_requests(h: _Handler, r: Received) -> None:
    # Each prompt is refused once with Retry-After, then answered: the retry must wait that long.
    if h.server.faults.first_try(r.prompt):
        h.send_json(429, {"error": "rate limited"}, {"Retry-After": str(RETRY_AFTER_S)})
    else:
        _ok(h, r)


def _status(code: int) -> Answer:
    return lambda h, r: h.send_json(code, {"error": {"message": f"status {code}", "code": code}})


def _hang(h: _Handler, r: Received) -> None:
    """Accept, never answer: wait (bounded) until the server stops."""
    h.server.faults.stopping.wait(HANG_S)
    h.close_connection = True


def _drip(h: _Handler, r: Received) -> None:
    """Headers at once, then one byte every DRIP_EVERY_S, at most DRIP_BYTES in all."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(DRIP_BYTES))
    h.end_headers()
    h.close_connection = True
    for _ in range(DRIP_BYTES):
        if h.server.faults.stopping.wait(DRIP_EVERY_S):
            return
        try:
            h.wfile.write(b" ")
            h.wfile.flush()
        except OSError:  # the client gave up and closed the connection
            return


def _reset(h: _Handler, r: Received) -> None:
    """Headers and half the body, then an abrupt close: SO_LINGER 0 makes it a TCP RST."""
    data = json.dumps(completion(r)).encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data[: len(data) // 2])
    h.wfile.flush()
    h.close_connection = True
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.rfile.close()  # the socket's last file reference: the close() below really closes it
    h.connection.close()


def _malformed_json(h: _Handler, r: Received) -> None:
    h.send(200, json.dumps(completion(r)).encode()[:-7])  # cut inside the last choice


def _non_utf8(h: _Handler, r: Received) -> None:
    # Latin-1 bytes where UTF-8 is due: decoding with errors="replace" would make "caf\ufffd".
    choice = b'{"text": "caf\xe9 \xff", "finish_reason": "stop"}'
    h.send(200, b'{"choices": [' + b", ".join([choice] * _samples(r)) + b"]}")


def _bad_gzip(h: _Handler, r: Received) -> None:
    h.send(200, b"\x1f\x8b\x08\x00" + b"this is not deflate data at all" * 4, {"Content-Encoding": "gzip"})


def _gzip_bomb(h: _Handler, r: Received) -> None:
    h.send(200, _bomb(), {"Content-Encoding": "gzip"})


def _missing_fields(h: _Handler, r: Received) -> None:
    # case 0: no choices at all; case 1: choices without text; case 2+: without finish_reason
    answer = completion(r)
    if r.case == 0:
        h.send_json(200, {"id": "cmpl-1", "object": "text_completion"})
        return
    for choice in answer["choices"]:
        choice.pop("text" if r.case == 1 else "finish_reason", None)
    h.send_json(200, answer)


def _wrong_types(h: _Handler, r: Received) -> None:
    # case 0: "text": null; case 1: "text": 123; case 2+: "text": ["hello"]
    wrong: Any = [None, 123][r.case] if r.case < 2 else ["hello"]
    h.send_json(200, _choices(r, [wrong] * _samples(r)))


def _huge_body(h: _Handler, r: Received) -> None:
    # Case 0's first sample is HUGE_BYTES long; everything else is a normal answer.
    answer = completion(r)
    if r.case == 0:
        answer["choices"][0]["text"] = "hello " + "x" * (HUGE_BYTES - 6)
    h.send_json(200, answer)


def _echo_400(h: _Handler, r: Received) -> None:
    # A misconfigured gateway that quotes the request, headers and all (the key with them).
    echoed = "".join(f"{name}: {value}\n" for name, value in r.headers.items())
    h.send(400, f"bad request; you sent:\n{echoed}".encode(), {"Content-Type": "text/plain"})


ANSWERS: dict[str, Answer] = {
    "ok": _ok,
    "429": _too_many_requests,
    "500": _status(500),
    "503": _status(503),
    "hang": _hang,
    "drip": _drip,
    "reset": _reset,
    "malformed_json": _malformed_json,
    "non_utf8": _non_utf8,
    "bad_gzip": _bad_gzip,
    "gzip_bomb": _gzip_bomb,
    "missing_fields": _missing_fields,
    "wrong_types": _wrong_types,
    "too_few_choices": lambda h, r: h.send_json(200, completion(r, _samples(r) - 1)),
    "too_many_choices": lambda h, r: h.send_json(200, completion(r, _samples(r) + 3)),
    "huge_body": _huge_body,
    "401": _status(401),
    "400_echo": _echo_400,
}
MODES = tuple(ANSWERS)
