"""Every fault of the fault server (server.py) against a real pytest run of a small eval suite.

Each mode is one ``runpytest_subprocess`` of SUITE on the openai backend, with a secret key in
the environment, ``-l``, JUnit XML, both reports, a cache, a history and baselines inside the
pytester folder. For each mode: the exit status and the one line that says what went wrong, no
INTERNALERROR and no traceback, the summary and every output written, nothing bad in the cache
or the baselines, and the key nowhere. A mode that answered "200 OK" with a bad body is then
fixed (mode "ok"): the rerun must ask the server again and pass, which it could not if a bad
answer had been kept.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import HANG_S, HUGE_BYTES, MODES, RETRY_AFTER_S, FaultServer

KEY = "sk-test-SECRET1234567890abcdef"
KEY_ENV = "LLMEVAL_FAULTS_KEY"
CASES = 3

SUITE = f"""
import pytest
from pytest_llmeval import Case, expect

CASES = [Case(id=f"c{{i}}", prompt=f"question {{i}}") for i in range({CASES})]

# samples=3 sends n=3, which the too_few/too_many_choices modes answer wrongly.
@pytest.mark.llmeval(max_tokens=4, samples=3, temperature=1.0, seed=1)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_answers(llm, case):
    expect(llm.complete(case)).contains("hello")
"""

# What each mode makes of the run: the modes that answer well in the end pass every case; for
# the others, the line each case c0, c1, c2 fails with ({url} is the server's).
PASSING = ("ok", "429", "huge_body")
GAVE_UP = "POST {url}/completions: gave up after 2 attempts, last: "
NOT_COMPLETION = "llmeval: EngineError: POST {url}/completions: the answer is not a completion: "
RETRIED = {  # retried to the end: one line for the run, each case fails "not asked" with it
    "500": GAVE_UP + "HTTP 500",
    "503": GAVE_UP + "HTTP 503",
    "hang": GAVE_UP + "timed out after 1 s",
    "drip": GAVE_UP + "timed out after 1 s",
    "reset": GAVE_UP + "connection failed (*Error)",
    # Not retried, but every other request would be refused the same way: asked once.
    "401": f"POST {{url}}/completions: HTTP 401, the server rejected the API key (read from ${KEY_ENV})",
}
CASE_LINES: dict[str, tuple[str, str, str]] = {
    mode: (f"llmeval: EngineError: not asked: {line}",) * 3 for mode, line in RETRIED.items()
}
CASE_LINES |= {
    mode: (f"llmeval: EngineError: POST {{url}}/completions: {line}",) * 3
    for mode, line in {
        "malformed_json": """the answer is not JSON: '{"choices": [[]{"index": 0, *""",
        "non_utf8": """the answer is not JSON: '{"choices": [[]{"text": "caf\ufffd \ufffd", *""",
        "bad_gzip": "the answer's body cannot be decoded (Error -3 while decompressing data: *)",
        "gzip_bomb": "reply body over 64 MB, refused",
        "400_echo": "HTTP 400: bad request; you sent:",
    }.items()
}
CASE_LINES |= {
    "missing_fields": (
        NOT_COMPLETION + "choices: Field required",
        NOT_COMPLETION + "a choice has no text",
        NOT_COMPLETION + "choices.0.finish_reason: Field required",
    ),
    "wrong_types": (  # "text": null, then 123, then ["hello"]
        NOT_COMPLETION + "a choice has no text",
        NOT_COMPLETION + "choices.0.text: Input should be a valid string",
        NOT_COMPLETION + "choices.0.text: Input should be a valid string",
    ),
    "too_few_choices": (
        "llmeval: EngineError: POST {url}/completions: asked for 3 choice(s), the answer has 2",
    )
    * 3,
    "too_many_choices": (
        "llmeval: EngineError: POST {url}/completions: asked for 3 choice(s), the answer has 6",
    )
    * 3,
}
assert set(PASSING) | set(CASE_LINES) == set(MODES)
# The faults answered "200 OK" with a body, which a careless client could keep as an answer: these
# are rerun with the server fixed (the others, statuses and timeouts, have no body to keep).
ANSWERED_200 = set(CASE_LINES) - {"500", "503", "hang", "drip", "401", "400_echo"}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultServer]:
    for name in [n for n in os.environ if n.startswith("LLMEVAL_")]:  # only the options given count
        monkeypatch.delenv(name)
    monkeypatch.setenv(KEY_ENV, KEY)  # the runs inherit it
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    fault_server = FaultServer()
    yield fault_server
    fault_server.stop()


def run(pytester: pytest.Pytester, server: FaultServer, *extra: str) -> tuple[pytest.RunResult, float]:
    # A short timeout where it is what is tested; elsewhere room for a loaded machine (5 MB answers).
    timeout = 1 if server.mode in ("hang", "drip") else 5
    started = time.monotonic()
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-l",
        "--junitxml=junit.xml",
        "--llmeval-backend=openai",
        f"--llmeval-base-url={server.url}",
        f"--llmeval-api-key-env={KEY_ENV}",
        f"--llmeval-timeout={timeout}",
        "--llmeval-retries=1",
        "--llmeval-report-json=run.json",
        "--llmeval-report-html=run.html",
        "--llmeval-cache-dir=cache",
        "--llmeval-history=history.jsonl",
        "--llmeval-baselines=baselines",
        "--llmeval-baseline-outputs",  # so a garbage output would show in the baseline
        *extra,
        timeout=60,
    )
    return result, time.monotonic() - started


def cached_texts(root: Path) -> list[list[str]]:
    """The completions of every cache entry; any file there that is not an entry fails."""
    entries = []
    for path in sorted((root / "cache").rglob("*")):
        if path.is_dir() or path.parent.name == "engines":  # engines/: which model, not answers
            continue
        entry = json.loads(path.read_text(encoding="utf-8"))
        entries.append([c["text"] for c in entry["result"]["completions"]])
    return entries


def assert_key_nowhere(root: Path, result: pytest.RunResult) -> None:
    shown = result.stdout.str() + result.stderr.str()
    files = [p for p in root.rglob("*") if p.is_file()]
    assert {"junit.xml", "run.json", "run.html", "history.jsonl"} <= {p.name for p in files}
    for secret in (KEY, KEY[3:]):
        assert secret not in shown
        for path in files:
            assert secret.encode() not in path.read_bytes(), path


def assert_run(pytester: pytest.Pytester, server: FaultServer, result: pytest.RunResult, passed: int) -> None:
    """What every run must show, whatever the fault: a plain exit status, the summary, the reports."""
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == (pytest.ExitCode.OK if passed == CASES else pytest.ExitCode.TESTS_FAILED), out
    assert "INTERNALERROR" not in out and "Traceback" not in out
    result.assert_outcomes(passed=passed, failed=CASES - passed)
    rate, errors = f"{passed / CASES:.3f}", CASES - passed
    result.stdout.fnmatch_lines(
        [
            f"answers  {CASES} cases  pass {rate} *errors {errors}  *",
            "llmeval: JSON report written to run.json",
            "llmeval: HTML report written to *run.html",
        ]
    )
    assert "generated xml file" in out
    assert len((pytester.path / "history.jsonl").read_text().splitlines()) >= 1
    report = json.loads((pytester.path / "run.json").read_text())
    assert report["suites"][0]["name"] == "answers" and len(report["suites"][0]["cases"]) == CASES
    # The key was sent with every request, and shows nowhere.
    assert server.posts and all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in server.posts)
    assert_key_nowhere(pytester.path, result)


def assert_good_answers_kept(root: Path) -> None:
    """One entry per case in the cache and a baseline, each output a real answer."""
    entries = cached_texts(root)
    assert len(entries) == CASES and all(len(texts) == 3 for texts in entries)
    assert all(text.startswith("hello ") for texts in entries for text in texts), entries
    baseline = json.loads((root / "baselines" / "answers.json").read_text())
    assert all(case["output"].startswith("hello ") for case in baseline["cases"].values())


# Each mode is a subprocess run of a whole suite: the fast lane keeps one of each kind (passing,
# retried to the end, refused at once, a bad "200 OK" then fixed); tests/engine/test_openai.py
# checks the engine's handling of every fault in-process, and the full run has the whole matrix.
FAST_MODES = ("ok", "503", "401", "malformed_json")


@pytest.mark.parametrize(
    "mode", [pytest.param(m, marks=() if m in FAST_MODES else pytest.mark.slow) for m in MODES]
)
def test_a_fault_fails_the_cases_with_one_line_and_keeps_nothing_bad(
    pytester: pytest.Pytester, server: FaultServer, mode: str
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    server.mode = mode
    result, seconds = run(pytester, server)
    assert seconds < HANG_S  # retries and timeouts bound the run, not the server's own patience
    if mode in PASSING:
        assert_run(pytester, server, result, passed=CASES)
        result.stdout.fnmatch_lines(["llmeval: pre-generated 3 cases *; 3 requests computed, *"])
        assert_good_answers_kept(pytester.path)
        if mode == "429":  # each prompt refused once, asked again no sooner than Retry-After said
            for prompt in {r.prompt for r in server.posts}:
                first, second = (r.at for r in server.posts if r.prompt == prompt)
                assert second - first >= RETRY_AFTER_S
        if mode == "huge_body":  # read whole and used (the cache may keep it cut to its answer cap)
            longest = max(len(text) for texts in cached_texts(pytester.path) for text in texts)
            assert 2**16 < longest <= HUGE_BYTES
        return

    assert_run(pytester, server, result, passed=0)
    url = server.url
    if mode in RETRIED:
        result.stdout.fnmatch_lines(["llmeval: openai backend: " + RETRIED[mode].replace("{url}", url)])
        assert len(server.posts) <= 2 * CASES  # two attempts per request at most, no second round
    expected = []
    for case, line in enumerate(CASE_LINES[mode]):
        expected += [f"*_ test_answers[[]c{case}[]] _*", line.replace("{url}", url)]
    result.stdout.fnmatch_lines(expected)
    if mode == "400_echo":  # the echoed headers reach the report, with the key blanked
        assert "Authorization: Bearer ***" in (pytester.path / "run.json").read_text()
    # Nothing of a failed request is kept: no cache entry, and no baseline (a suite with errors
    # is never recorded, so a garbage output such as "None" or "123" cannot be either).
    assert cached_texts(pytester.path) == []
    assert not list((pytester.path / "baselines").glob("*"))

    if mode not in ANSWERED_200:
        return
    # The server is fixed: every case is asked again (nothing was cached) and passes.
    server.mode = "ok"
    asked = len(server.posts)
    result, _ = run(pytester, server)
    assert_run(pytester, server, result, passed=CASES)
    assert len(server.posts) - asked == CASES
    assert_good_answers_kept(pytester.path)


@pytest.mark.slow  # xdist workers: the serial runs above show the same lines
@pytest.mark.parametrize("mode", ["503", "401"])
def test_under_xdist_each_case_fails_with_the_same_one_line(
    pytester: pytest.Pytester, server: FaultServer, mode: str
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    server.mode = mode
    result, _ = run(pytester, server, "-n", "2")
    assert_run(pytester, server, result, passed=0)
    line = CASE_LINES[mode][0].replace("{url}", server.url)
    assert sum(1 for shown in result.stdout.lines if shown == line) == CASES, result.stdout.str()
    assert cached_texts(pytester.path) == []
