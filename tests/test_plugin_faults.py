"""Engine failures in a pytest run: one line, failed cases, a summary, and never INTERNALERROR."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SUITE = """
import pytest
from pytest_llmeval import Case, expect

CASES = [Case(id=f"c{i}", prompt=f"question {i}") for i in range(6)]

@pytest.mark.llmeval(max_tokens=4)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_answers(llm, case):
    expect(llm.complete(case)).contains("hello")
"""


class StubServer:
    """Lists one model, then answers every completion with ``answer()``: (status, JSON body)."""

    def __init__(self, answer: Callable[[], tuple[int, object]]) -> None:
        self.posts = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, body: object) -> None:
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
                server.posts += 1
                self.reply(*answer())

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/v1"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@contextlib.contextmanager
def stub_server(answer: Callable[[], tuple[int, object]]) -> Iterator[StubServer]:
    server = StubServer(answer)
    try:
        yield server
    finally:
        server.http.shutdown()
        server.http.server_close()


@pytest.fixture
def down() -> Iterator[StubServer]:
    """A server that is going down: every completion is a 503."""
    with stub_server(lambda: (503, {"error": "Service Unavailable"})) as server:
        yield server


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_server_that_is_down_fails_the_cases_with_one_line(
    pytester: pytest.Pytester, down: StubServer, workers: list[str]
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        *workers,
        "--llmeval-backend=openai",
        f"--llmeval-base-url={down.url}",
        "--llmeval-no-cache",
        "--llmeval-report-json=run.json",
        "--llmeval-retries=2",  # 1.5 s of backoff; the default's four retries wait 7.5 s
    )
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    assert "INTERNALERROR" not in out
    result.assert_outcomes(failed=6)
    result.stdout.fnmatch_lines(
        ["answers  6 cases  pass 0.000 *errors 6*", "*JSON report written to run.json"]
    )
    if not workers:  # an xdist worker pre-generates inside a test, where the cases say it
        result.stdout.fnmatch_lines(
            [
                f"llmeval: openai backend: POST {down.url}/completions: gave up after 3 attempts, "
                "last: HTTP 503"
            ]
        )
    # Each case: one line with the cause, not a traceback through the plugin.
    assert "cache.py" not in out and "Traceback" not in out
    assert (
        out.count("llmeval: EngineError: not asked: POST") + out.count("llmeval: ServerUnavailable: POST")
        >= 6
    )
    # The retries happened for one batch (per process), not again for each case.
    assert down.posts <= 5 * 6 * (1 + len(workers) // 2)


BAD_INPUTS = """
import pytest
from pytest_llmeval import Case, expect

CASES = [Case(id=f"ok{i}", prompt=f"Say something about {i}:") for i in range(3)]
CASES += [Case(id="long", prompt="word " * 400), Case(id="surrogate", prompt="broken \\ud800 text")]

@pytest.mark.llmeval(max_tokens=4)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_inputs(llm, case):
    expect(llm.complete(case)).matches(r"(?s).*")
"""


def test_a_bad_prompt_fails_its_case_only(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
    pytester.makepyfile(test_inputs=BAD_INPUTS)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--llmeval-model={tiny_model_dir}",
        f"--llmeval-cache-dir={tmp_path / 'cache'}",
        "--llmeval-max-length=128",
    )
    out = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in out
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "llmeval: pre-generation stopped (EngineError: *); the cases not answered yet ask one by one, *",
            "*_ test_inputs[[]long[]] _*",
            "llmeval: EngineError: prompt has 401 tokens, but the model's maximum length is 128",
            "*_ test_inputs[[]surrogate[]] _*",
            "llmeval: EngineError: the text holds a lone surrogate (U+D800 at character 7), which *",
        ]
    )


LONG_ANSWERS = """
import pytest
from pytest_llmeval import Case

@pytest.mark.llmeval(max_tokens=4)
@pytest.mark.parametrize("case", [Case(id="big", prompt="Go on and on:")], ids=str)
def test_answers(llm, case):
    out = llm.complete(case)
    assert len(out) == 1000 and out.finish_reason == "length"
"""


def test_an_answer_over_the_cap_is_cut_with_a_warning_in_its_case(pytester: pytest.Pytester) -> None:
    text = "word " * 200_000  # 1 MB of answer
    choice = {"index": 0, "text": text, "finish_reason": "stop"}
    with stub_server(lambda: (200, {"choices": [choice], "usage": None})) as server:
        pytester.makepyfile(test_long=LONG_ANSWERS)
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--llmeval-backend=openai",
            f"--llmeval-base-url={server.url}",
            f"--llmeval-cache-dir={pytester.path / 'cache'}",
            "--llmeval-max-answer-chars=1000",
            "--llmeval-report-json=run.json",
        )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_long.py::test_answers[[]big[]]*",
            "*AnswerCutWarning: llmeval: an answer of 1,000,000 characters was cut to 1,000 *",
        ]
    )
    report = json.loads((pytester.path / "run.json").read_text(encoding="utf-8"))
    assert len(json.dumps(report)) < 20_000
    stored = [p.stat().st_size for p in (pytester.path / "cache").rglob("*.json")]
    assert stored and max(stored) < 5_000
