"""Pre-generation as a user sees it: progress lines in a log, and work kept when interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MANY_CASES = """
import pytest
from pytest_llmeval import Case, expect

CASES = [Case(id=f"c{{i}}", prompt=f"Count to {{i}} and tell a story about {{i}}:") for i in range({n})]

@pytest.mark.llmeval(max_tokens={tokens})
@pytest.mark.parametrize("case", CASES, ids=str)
def test_counting(llm, case):
    expect(llm.complete(case)).matches(r"(?s).*")
"""


def cache_entries(cache: Path) -> int:
    """Answers in the response cache (the engines/ folder holds model fingerprints, not answers)."""
    return sum(1 for p in cache.glob("*/*.json") if p.parent.name != "engines")


def test_a_log_gets_progress_lines_during_pre_generation(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(MANY_CASES.format(n=150, tokens=40))
    monkeypatch.setenv("LLMEVAL_PROGRESS_INTERVAL", "0.2")
    result = pytester.runpytest_subprocess(
        f"--llmeval-model={tiny_model_dir}", f"--llmeval-cache-dir={tmp_path / 'cache'}"
    )
    assert result.ret == pytest.ExitCode.OK
    # Output is a pipe here, as in CI: whole lines, no carriage returns.
    result.stdout.fnmatch_lines(
        ["llmeval: pre-generating */150 cases, * s*", "llmeval: pre-generated 150 cases *"]
    )
    assert "\r" not in result.stdout.str()


def test_an_interrupted_pre_generation_keeps_finished_chunks(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """SIGINT in the middle of pre-generation: the chunks already done stay in the cache, and a
    rerun computes only what was missing."""
    total = 400
    pytester.makepyfile(MANY_CASES.format(n=total, tokens=48))
    cache = tmp_path / "cache"
    args = [f"--llmeval-model={tiny_model_dir}", f"--llmeval-cache-dir={cache}", "-p", "no:cacheprovider"]
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while cache_entries(cache) == 0 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    output, _ = run.communicate(timeout=120)
    print(f"exited {time.monotonic() - interrupted:.2f} s after SIGINT")
    assert "KeyboardInterrupt" in output, output[-2000:]
    stored = cache_entries(cache)
    assert 0 < stored < total, stored
    rerun = pytester.runpytest_subprocess(*args)
    rerun.stdout.fnmatch_lines(
        [f"llmeval: pre-generated {total} cases * {total - stored} requests computed*"]
    )
    assert rerun.ret == pytest.ExitCode.OK


SEEDED = """
import pytest
from pytest_llmeval import Case

CASES = [Case(id=f"c{i}", prompt=f"Tell a story about the number {i}:") for i in range(50)]

@pytest.mark.llmeval(max_tokens=8, temperature=0.8, seed=5)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_stories(llm, case):
    llm.complete(case)
"""


def test_a_seeded_case_gets_the_same_sample_in_the_whole_suite_and_under_k(
    pytester: pytest.Pytester, tiny_model_dir: Path
) -> None:
    from pytest_llmeval.report import load_report

    pytester.makepyfile(SEEDED)
    outputs = {}
    for name, selection in (("all", []), ("some", ["-k", "c7 or c31"])):
        result = pytester.runpytest_subprocess(
            f"--llmeval-model={tiny_model_dir}",
            "--llmeval-no-cache",
            f"--llmeval-report-json={name}.json",
            f"--llmeval-baselines={name}-baselines",
            *selection,
        )
        assert result.ret == pytest.ExitCode.OK
        [suite] = load_report(pytester.path / f"{name}.json").suites
        outputs[name] = {case.id: case.output for case in suite.cases}
    assert len(outputs["all"]) == 50 and sorted(outputs["some"]) == ["c31", "c7"]
    assert all(outputs["some"][key] == outputs["all"][key] for key in ("c7", "c31"))
    assert len(set(outputs["all"].values())) > 40  # samples, and not one answer for all
